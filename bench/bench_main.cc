// twophase_bench: the Google Benchmark suite (bench/README.md).
//
//   twophase_bench [--threads=N] [--backends=blas,onednn] [--slowdown=K]
//                  [--micro-batch=M]
//                  [Google Benchmark flags: --benchmark_filter=REGEX,
//                   --benchmark_out=FILE --benchmark_out_format=json, ...]
//
// Before any benchmark runs, main measures the fp32 GEMM peak of every
// selected backend (bench/gemm_bench.cc); every benchmark then reports its
// rate also as a fraction of the best of them ("peak_fraction"), and the
// peaks go into the JSON output's context.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_util.h"
#include "bench/benchmarks.h"
#include "core/backend.h"
#include "core/openblas_kernel.h"
#include "core/threads.h"
#include "models/model.h"
#include "models/model_flops.h"

namespace twophase::bench {
namespace {

struct Options {
  BenchSettings settings;
  std::vector<std::string> backends;  // empty: all
};

void PrintHelp() {
  std::printf(
      "twophase_bench: the twophase benchmark suite (bench/README.md)\n"
      "  --threads=N        OpenMP and OpenBLAS threads (default 2, or $TWOPHASE_BENCH_THREADS)\n"
      "  --backends=A,B     backends to calibrate and benchmark (default: all registered)\n"
      "  --slowdown=K       do every benchmark's work K times per iteration, calibration\n"
      "                     excluded (tests the regression check; $TWOPHASE_BENCH_SLOWDOWN)\n"
      "  --micro-batch=M    samples per forward/backward pass of the model benchmarks\n"
      "                     (default: the trainer's, %d; 512: the whole batch in one pass)\n\n",
      BenchSettings{}.micro_batch);
  benchmark::PrintDefaultHelp();
}

bool ParsePositive(const char* text, const char* what, int* value) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < 1 || v > 1024) {
    std::fprintf(stderr, "twophase_bench: %s must be an integer in [1, 1024], got '%s'\n", what,
                 text);
    return false;
  }
  *value = static_cast<int>(v);
  return true;
}

std::vector<std::string> Split(const std::string& list) {
  std::vector<std::string> parts;
  std::stringstream in(list);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// Takes our own flags out of argv (Google Benchmark rejects flags it does
// not know) and reads the environment. False on a bad value.
bool ParseOptions(int* argc, char** argv, Options* options) {
  if (const char* env = std::getenv("TWOPHASE_BENCH_THREADS")) {
    if (!ParsePositive(env, "TWOPHASE_BENCH_THREADS", &options->settings.threads)) return false;
  }
  if (const char* env = std::getenv("TWOPHASE_BENCH_SLOWDOWN")) {
    if (!ParsePositive(env, "TWOPHASE_BENCH_SLOWDOWN", &options->settings.slowdown)) return false;
  }
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string_view arg = argv[i];
    auto value_of = [&](std::string_view flag) -> const char* {
      if (arg.substr(0, flag.size()) != flag) return nullptr;
      if (arg.size() > flag.size() && arg[flag.size()] == '=') return argv[i] + flag.size() + 1;
      if (arg.size() == flag.size() && i + 1 < *argc) return argv[++i];
      return nullptr;
    };
    if (const char* v = value_of("--threads")) {
      if (!ParsePositive(v, "--threads", &options->settings.threads)) return false;
    } else if (const char* v = value_of("--slowdown")) {
      if (!ParsePositive(v, "--slowdown", &options->settings.slowdown)) return false;
    } else if (const char* v = value_of("--micro-batch")) {
      if (!ParsePositive(v, "--micro-batch", &options->settings.micro_batch)) return false;
    } else if (const char* v = value_of("--backends")) {
      options->backends = Split(v);
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  argv[kept] = nullptr;
  return true;
}

int Main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(&argc, argv, &options)) return 2;
  benchmark::Initialize(&argc, argv, PrintHelp);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  const std::vector<std::string> known = BackendNames();
  std::vector<std::string> backends = options.backends.empty() ? known : options.backends;
  for (const std::string& name : backends) {
    bool found = false;
    for (const std::string& k : known) found = found || k == name;
    if (!found) {
      std::fprintf(stderr, "twophase_bench: unknown backend '%s'\n", name.c_str());
      return 2;
    }
  }

  SetSettings(options.settings);
  SetThreads(options.settings.threads);
  SetReferenceBackend(backends.front());

  // The calibration, before anything is registered or run, so that every
  // benchmark can divide by it.
  std::string backend_list;
  for (const std::string& name : backends) {
    const double peak = MeasureGemmPeakGflops(GetBackend(name));
    SetBackendPeak(name, peak);
    benchmark::AddCustomContext("gemm_peak_gflops." + name, std::to_string(peak));
    backend_list += (backend_list.empty() ? "" : ",") + name;
  }
  benchmark::AddCustomContext("gemm_peak_gflops", std::to_string(MachinePeakGflops()));
  benchmark::AddCustomContext("twophase_threads", std::to_string(options.settings.threads));
  benchmark::AddCustomContext("twophase_backends", backend_list);
  benchmark::AddCustomContext("twophase_reference_backend", backends.front());
  benchmark::AddCustomContext("twophase_batch", std::to_string(kBatch));
  benchmark::AddCustomContext("twophase_micro_batch", std::to_string(options.settings.micro_batch));
  benchmark::AddCustomContext("twophase_slowdown", std::to_string(options.settings.slowdown));
  benchmark::AddCustomContext("openblas", OpenBlasVersion());
  benchmark::AddCustomContext("openblas_kernel", CurrentOpenBlasKernel().Describe());
  // The analytic counts behind the models' GFLOP/s (models/model_flops.h).
  for (const std::string& model : ModelNames()) {
    ModelFlops flops;
    if (CountModelFlops(model, InputShape{}, &flops)) {
      benchmark::AddCustomContext("mflop_per_sample." + model,
                                  std::to_string(flops.forward * 1e-6) + " forward, " +
                                      std::to_string(flops.train() * 1e-6) + " train step");
    }
  }

  RegisterGemmBenchmarks(backends);
  RegisterLayerBenchmarks(backends);
  RegisterModelBenchmarks(backends);
  RegisterCgVectorBenchmarks();

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace
}  // namespace twophase::bench

int main(int argc, char** argv) {
  // The trainer's OpenMP waiting and OpenBLAS kernel (core/threads.h), so
  // that a training step measures as it runs.
  twophase::EnsureRuntimeSettings(argv);
  return twophase::bench::Main(argc, argv);
}
