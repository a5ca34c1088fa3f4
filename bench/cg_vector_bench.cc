// The vector work of one nonlinear-CG iteration on the flat parameter
// buffer, with the helpers CG uses (optimizers/objective.h: double-
// accumulated Dot and Norm, AxpyInto) at vit-mlp's size (155,082 floats).
// BM_CgVectors/iteration replays the sequence of one typical iteration
// (optimizers/conjugate_gradient.cc with the default QuadStep + strong
// Wolfe, one trial step, Polak-Ribiere+):
//   g.d, |g|, |d|            slope, gradient norm, first-step scale
//   x + t d (x2)             QuadStep probe and the search's trial point
//   g_new.d, |g_new|         the trial's slope, the new gradient norm
//   g.g_old                  Polak-Ribiere's numerator
//   d = -g + beta d, g.d     the new direction and its slope
// = 7 reductions, 3 updates: 20 n FLOPs and 80 n bytes. The single ops are
// benchmarked too. These are memory-bound; their peak fraction says how
// little of a CG iteration they are next to the model passes (BM_ForwardLoss,
// BM_TrainStep).
#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/benchmarks.h"
#include "optimizers/objective.h"

namespace twophase::bench {
namespace {

// vit-mlp's parameter count (README's model table); vgg5's 167,114 is the
// same size class.
constexpr int64_t kSize = 155082;

enum class Op { kDot, kNorm, kAxpy, kDirection, kIteration };

// Per element of the vectors: FLOPs and bytes moved (each float read or
// written once).
struct OpCase {
  const char* name;
  Op op;
  double flops, bytes;
};
constexpr double kFloat = sizeof(float);
constexpr OpCase kOps[] = {
    {"dot", Op::kDot, 2, 2 * kFloat},
    {"norm", Op::kNorm, 2, kFloat},
    {"axpy", Op::kAxpy, 2, 3 * kFloat},
    {"direction", Op::kDirection, 2, 3 * kFloat},
    {"iteration", Op::kIteration, 20, 20 * kFloat},  // see the top
};

// d = -g + beta d: CG's direction update, a plain loop there too.
void UpdateDirection(const float* g, double beta, float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(-g[i] + beta * d[i]);
}

struct Vectors {
  std::vector<float> x = RandomVector(kSize, 1), d = RandomVector(kSize, 2),
                     g = RandomVector(kSize, 3), g_new = RandomVector(kSize, 4),
                     x_new = std::vector<float>(kSize);
};

// The sequence at the top of this file.
double Iteration(Vectors& v) {
  const int64_t n = kSize;
  double s = Dot(v.g.data(), v.d.data(), n);
  s += Norm(v.g.data(), n);
  s += Norm(v.d.data(), n);
  AxpyInto(v.x.data(), 1e-3, v.d.data(), v.x_new.data(), n);
  AxpyInto(v.x.data(), 2e-3, v.d.data(), v.x_new.data(), n);
  s += Dot(v.g_new.data(), v.d.data(), n);
  s += Norm(v.g_new.data(), n);
  s += Dot(v.g.data(), v.g_new.data(), n);
  // A small beta keeps d bounded over millions of iterations.
  UpdateDirection(v.g.data(), 1e-3, v.d.data(), n);
  s += Dot(v.g.data(), v.d.data(), n);
  return s;
}

void BM_CgVectors(benchmark::State& state, const OpCase& c) {
  Vectors v;
  const int64_t n = kSize;
  const LoopTimes times = TimedLoop(state, [&] {
    switch (c.op) {
      case Op::kDot:
        benchmark::DoNotOptimize(Dot(v.g.data(), v.d.data(), n));
        break;
      case Op::kNorm:
        benchmark::DoNotOptimize(Norm(v.g.data(), n));
        break;
      case Op::kAxpy:
        AxpyInto(v.x.data(), 1e-3, v.d.data(), v.x_new.data(), n);
        break;
      case Op::kDirection:
        UpdateDirection(v.g.data(), 1e-3, v.d.data(), n);
        break;
      case Op::kIteration:
        benchmark::DoNotOptimize(Iteration(v));
        break;
    }
  });
  SetByteCounters(state, c.bytes * n);
  SetFlopCounters(state, c.flops * n, times);
}

}  // namespace

void RegisterCgVectorBenchmarks() {
  for (const OpCase& c : kOps) {
    const std::string name = std::string("BM_CgVectors/") + c.name;
    benchmark::RegisterBenchmark(name.c_str(), BM_CgVectors, c)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace twophase::bench
