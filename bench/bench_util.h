// Shared pieces of the benchmark suite: the run's settings, the GEMM peak
// measured at start-up, backends by name, and the counters every benchmark
// reports.
//
// Every benchmark reports its work as a rate AND as a fraction of the fp32
// GEMM peak that bench_main.cc measured in the same process before any
// benchmark ran ("peak_fraction"), and of the GEMM rate measured right
// before and after its own timed loop ("local_fraction"). Absolute times
// drift between machines and with the load on a shared one; the
// load-matched local fractions are what the CI check (scripts/bench_check.sh)
// compares with the committed baseline.
#ifndef TWOPHASE_BENCH_BENCH_UTIL_H_
#define TWOPHASE_BENCH_BENCH_UTIL_H_

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/backend.h"
#include "training/trainer.h"

namespace twophase::bench {

// Batch size of every layer and model benchmark: the suite's default.
inline constexpr int64_t kBatch = 512;

// Settings of this run, fixed by main before benchmarks are registered.
struct BenchSettings {
  int threads = 2;
  // Injected slowdown for testing the regression check: every benchmark body
  // (not the calibration) does its work this many times per iteration while
  // counting it once, so every measured figure drops by this factor.
  int slowdown = 1;
  // Samples per forward/backward pass of the model benchmarks, as the
  // trainer splits a mini-batch (TrainOptions::micro_batch); kBatch: one
  // pass over the whole batch.
  int micro_batch = static_cast<int>(TrainOptions{}.micro_batch);
};
const BenchSettings& Settings();
void SetSettings(const BenchSettings& settings);

// The calibration: best GFLOP/s of the large sgemm per backend, and the
// machine's peak (the best backend's). Set by main; 0 until then.
void SetBackendPeak(const std::string& backend, double gflops);
double MachinePeakGflops();

// The reference backend of the load-matched calibration (GemmBurstGflops):
// the first selected one ("blas" unless --backends says otherwise).
void SetReferenceBackend(const std::string& backend);
const std::string& ReferenceBackend();

// Mean GFLOP/s of a short burst of the calibration sgemm (gemm_bench.cc:
// three 1024^3 products, ~25 ms on a quiet 2-core machine) on the reference
// backend. TimedLoop runs one burst just before and one just after each
// benchmark's timed loop, so the benchmark and its normaliser see the same
// load from other processes.
double GemmBurstGflops();

// One instance per backend name, created on first use and kept for the run
// (backends may hold primitive caches that should not be timed).
Backend* GetBackend(const std::string& name);

// Uniform values in [lo, hi), from the project's seeded generator.
std::vector<float> RandomVector(int64_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

// One Google Benchmark run of a benchmark's timed loop.
struct LoopTimes {
  int64_t iterations = 0;
  double total_seconds = 0.0;      // wall time of all iterations
  double best_seconds = 0.0;       // the fastest iteration
  double local_gemm_gflops = 0.0;  // mean of the two neighbouring bursts
};

// The timed loop of every benchmark: each iteration runs `body`
// Settings().slowdown times (the injected slowdown; the calibration passes
// slowdown = false), timed on the wall clock as a whole and per iteration,
// between two calibration bursts (untimed by Google Benchmark).
template <typename Body>
LoopTimes TimedLoop(benchmark::State& state, Body&& body, bool slowdown = true) {
  using Clock = std::chrono::steady_clock;
  const int repeats = slowdown ? Settings().slowdown : 1;
  LoopTimes times;
  const double before = GemmBurstGflops();
  times.best_seconds = std::numeric_limits<double>::infinity();
  for (auto _ : state) {
    const Clock::time_point start = Clock::now();
    for (int r = 0; r < repeats; ++r) body();
    benchmark::ClobberMemory();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    times.best_seconds = std::min(times.best_seconds, seconds);
    times.total_seconds += seconds;
    ++times.iterations;
  }
  times.local_gemm_gflops = 0.5 * (before + GemmBurstGflops());
  return times;
}

// Counters from the work of ONE iteration (every benchmark uses real time:
// the work runs on several threads):
//   GFLOP/s         flops / 1e9 per second, mean over the iterations
//   peak_fraction   GFLOP/s / the machine's GEMM peak measured at start-up
//                   (MachinePeakGflops): THE normalised figure for reading
//   best_GFLOP/s    the fastest iteration's rate
//   local_fraction  GFLOP/s / the neighbouring bursts' GEMM rate: the
//                   load-matched figure the regression check compares
void SetFlopCounters(benchmark::State& state, double flops_per_iteration, const LoopTimes& times);
//   bytes_per_second  memory traffic (Google Benchmark's own counter)
void SetByteCounters(benchmark::State& state, double bytes_per_iteration);
//   samples/s, and best_samples/s of the fastest iteration
void SetSampleCounters(benchmark::State& state, double samples_per_iteration,
                       const LoopTimes& times);

}  // namespace twophase::bench

#endif  // TWOPHASE_BENCH_BENCH_UTIL_H_
