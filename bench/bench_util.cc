#include "bench/bench_util.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>

#include "core/rng.h"

namespace twophase::bench {
namespace {

// Run-wide state, set up by main before any benchmark runs. Never destroyed
// (Google style for non-trivial statics; backends may hold library state that
// must not be torn down in an unknown order at exit).
BenchSettings g_settings;
std::string& ReferenceBackendName() {
  static std::string* const name = new std::string("blas");
  return *name;
}
std::map<std::string, double>& Peaks() {
  static auto* const peaks = new std::map<std::string, double>;
  return *peaks;
}
std::map<std::string, std::unique_ptr<Backend>>& Backends() {
  static auto* const backends = new std::map<std::string, std::unique_ptr<Backend>>;
  return *backends;
}

}  // namespace

const BenchSettings& Settings() { return g_settings; }
void SetSettings(const BenchSettings& settings) { g_settings = settings; }

void SetBackendPeak(const std::string& backend, double gflops) { Peaks()[backend] = gflops; }

double MachinePeakGflops() {
  double peak = 0.0;
  for (const auto& [name, gflops] : Peaks()) peak = std::max(peak, gflops);
  return peak;
}

void SetReferenceBackend(const std::string& backend) { ReferenceBackendName() = backend; }
const std::string& ReferenceBackend() { return ReferenceBackendName(); }

Backend* GetBackend(const std::string& name) {
  std::unique_ptr<Backend>& slot = Backends()[name];
  if (!slot) {
    std::string error;
    slot = MakeBackend(name, &error);
    if (!slot) {
      // Names come from BackendNames(), so this is a broken registry.
      std::fprintf(stderr, "twophase_bench: backend %s: %s\n", name.c_str(), error.c_str());
      std::abort();
    }
  }
  return slot.get();
}

std::vector<float> RandomVector(int64_t n, uint64_t seed, float lo, float hi) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(rng.Uniform(lo, hi));
  return v;
}

void SetFlopCounters(benchmark::State& state, double flops_per_iteration, const LoopTimes& times) {
  using benchmark::Counter;
  const double gflop = flops_per_iteration * 1e-9;
  state.counters["GFLOP/s"] = Counter(gflop, Counter::kIsIterationInvariantRate);
  state.counters["best_GFLOP/s"] = Counter(gflop / times.best_seconds);
  const double peak = MachinePeakGflops();
  if (peak > 0) {
    // (flops / s) / (peak flops / s): a rate counter of flops / peak.
    state.counters["peak_fraction"] = Counter(gflop / peak, Counter::kIsIterationInvariantRate);
  }
  if (times.local_gemm_gflops > 0 && times.total_seconds > 0) {
    const double gflops = gflop * static_cast<double>(times.iterations) / times.total_seconds;
    state.counters["local_fraction"] = Counter(gflops / times.local_gemm_gflops);
  }
}

void SetByteCounters(benchmark::State& state, double bytes_per_iteration) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes_per_iteration) * state.iterations());
}

void SetSampleCounters(benchmark::State& state, double samples_per_iteration,
                       const LoopTimes& times) {
  using benchmark::Counter;
  state.counters["samples/s"] = Counter(samples_per_iteration, Counter::kIsIterationInvariantRate);
  state.counters["best_samples/s"] = Counter(samples_per_iteration / times.best_seconds);
}

}  // namespace twophase::bench
