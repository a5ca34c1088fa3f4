// The suite's benchmark families. Each file registers its own for the given
// backends (main passes BackendNames(), or the --backends selection), so a
// new backend is benchmarked as soon as the registry knows it.
#ifndef TWOPHASE_BENCH_BENCHMARKS_H_
#define TWOPHASE_BENCH_BENCHMARKS_H_

#include <string>
#include <vector>

#include "core/backend.h"

namespace twophase::bench {

// gemm_bench.cc: the calibration. Best GFLOP/s of the calibration sgemm on
// `backend` over repeated runs (about 0.2 s in all), untimed by Google
// Benchmark: main calls it before any benchmark runs.
double MeasureGemmPeakGflops(Backend* backend);
// BM_GemmCalibration/<backend>: the same sgemm as an ordinary benchmark.
void RegisterGemmBenchmarks(const std::vector<std::string>& backends);

// layer_bench.cc: BM_Layer/<op>/<shape>/<backend>, forward + backward.
void RegisterLayerBenchmarks(const std::vector<std::string>& backends);

// model_bench.cc: BM_TrainStep/<model>/<backend> (forward, loss, backward,
// Adam) and BM_ForwardLoss/<model>/<backend> (the line search's probe).
void RegisterModelBenchmarks(const std::vector<std::string>& backends);

// cg_vector_bench.cc: BM_CgVectors/<op>, backend-independent.
void RegisterCgVectorBenchmarks();

}  // namespace twophase::bench

#endif  // TWOPHASE_BENCH_BENCHMARKS_H_
