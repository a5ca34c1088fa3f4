// The GEMM calibration: one large square sgemm through Backend::Gemm, the
// operation every fast kernel in the suite is built on. Its best rate in
// this run is "the machine's fp32 GEMM peak" that every other figure is
// divided by. 1024^3 (2.1 GFLOP) is large enough for OpenBLAS to reach its
// asymptotic rate on a few cores and small enough (~10-20 ms at 2 threads)
// that the best of a dozen runs usually finds a quiet moment on a shared
// machine. The same product, three at a time, is the "burst" that every
// benchmark's timed loop is bracketed by (GemmBurstGflops): a normaliser
// that sees the same load as the benchmark.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/benchmarks.h"

namespace twophase::bench {
namespace {

constexpr int64_t kSize = 1024;
constexpr double kFlops = 2.0 * kSize * kSize * kSize;

struct GemmOperands {
  std::vector<float> a = RandomVector(kSize * kSize, 11);
  std::vector<float> b = RandomVector(kSize * kSize, 12);
  std::vector<float> c = std::vector<float>(kSize * kSize, 0.0f);

  void Run(Backend* backend) {
    backend->Gemm(false, false, kSize, kSize, kSize, 1.0f, a.data(), kSize, b.data(), kSize, 0.0f,
                  c.data(), kSize);
  }
};

void BM_GemmCalibration(benchmark::State& state, const std::string& backend_name) {
  Backend* backend = GetBackend(backend_name);
  GemmOperands gemm;
  gemm.Run(backend);  // warm-up: OpenBLAS buffers, thread start
  // Deliberately without the injected slowdown: it models a regression in
  // our code, measured against an unchanged peak.
  const LoopTimes times = TimedLoop(
      state, [&] { gemm.Run(backend); }, /*slowdown=*/false);
  SetFlopCounters(state, kFlops, times);
}

}  // namespace

double MeasureGemmPeakGflops(Backend* backend) {
  using Clock = std::chrono::steady_clock;
  GemmOperands gemm;
  gemm.Run(backend);
  double best_seconds = 1e30, total = 0.0;
  // At least 8 runs and 0.2 s: the best run is the peak; the others absorb
  // the moments when another process had a core.
  for (int run = 0; run < 8 || total < 0.2; ++run) {
    const Clock::time_point start = Clock::now();
    gemm.Run(backend);
    benchmark::DoNotOptimize(gemm.c.data());
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    best_seconds = std::min(best_seconds, seconds);
    total += seconds;
    if (run >= 200) break;
  }
  return kFlops / best_seconds * 1e-9;
}

double GemmBurstGflops() {
  using Clock = std::chrono::steady_clock;
  // Kept for the run: the burst should time the product, not page faults.
  static GemmOperands* const gemm = new GemmOperands;
  constexpr int kProducts = 3;
  Backend* backend = GetBackend(ReferenceBackend());
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < kProducts; ++i) gemm->Run(backend);
  benchmark::DoNotOptimize(gemm->c.data());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return kProducts * kFlops / seconds * 1e-9;
}

void RegisterGemmBenchmarks(const std::vector<std::string>& backends) {
  for (const std::string& backend : backends) {
    const std::string name = "BM_GemmCalibration/" + std::to_string(kSize) + "/" + backend;
    benchmark::RegisterBenchmark(name.c_str(), BM_GemmCalibration, backend)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace twophase::bench
