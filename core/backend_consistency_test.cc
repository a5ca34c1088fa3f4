// Every op on every backend (BackendNames()) against the BLAS backend, in the
// manner of ggml's test-backend-ops: one table of op cases with seeded
// random inputs (TWOPHASE_TEST_SEED), each run on the backend under test and
// on the reference, outputs and gradients compared; every case is also run
// twice on the backend under test and must give bit-identical results. The
// BLAS backend itself is checked against double-precision references in
// blas_backend_test.cc and blas_conv_test.cc, so agreement with it is
// agreement with the definitions.
//
// Tolerances are normwise per output tensor: max_i |got_i - want_i| <=
// tol * max_i |want_i|.
//  - 1e-5 for the sums (GEMM, linear, convolution, layer norm, softmax):
//    both backends accumulate in float (oneDNN) or float/double (BLAS) in
//    different orders. Measured over 8 seeds: at most 3e-6 of the tensor's
//    largest entry, for the 12544-term sums of the 64-image convolution's
//    weight gradient, below 1.5e-6 elsewhere. A missing, extra or
//    misplaced term is off by about largest / sqrt(terms) >= 1e-2 of it.
//    Where a result cancels (layer norm's dx, which is exactly 0 for dim
//    1), the comparison uses the size of the terms instead (Output::scale).
//  - 1e-5 for GELU: the two erf approximations are each within ~4e-7 of
//    erf; the tanh form of GELU would be off by ~2e-4 of max |y|.
//  - 0 (exact equality) for ReLU and max-pool, which select values and
//    compute nothing (inputs have no ties; see onednn_backend_test.cc).
// Accumulated gradients (dw, db, dgamma, dbeta) start from random values, so
// a backend that overwrites instead of adding fails, as does one that drops
// them. MutationsAreCaught shows that each kind of bug fails this test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/backend_test_util.h"
#include "core/gradient_check.h"
#include "core/mutant_backend_test_util.h"
#include "core/onednn_backend.h"
#include "core/rng.h"
#include "core/test_seed.h"

namespace twophase {
namespace {

using backend_test::BitIdentical;
using backend_test::Join;
using backend_test::MutantBackend;
using backend_test::Mutation;

struct Output {
  std::string name;
  std::vector<float> v;
  double tol;          // normwise; 0: must be equal
  double scale = 0.0;  // floor for max |want| where the result cancels
};
using Outputs = std::vector<Output>;

struct OpCase {
  std::string name;
  std::function<Outputs(Backend&)> run;
};

constexpr double kSumTol = 1e-5;
constexpr double kGeluTol = 1e-5;

std::string Dims(std::initializer_list<int64_t> dims) {
  std::string s;
  for (int64_t d : dims) {
    if (!s.empty()) s += 'x';
    s += std::to_string(d);
  }
  return s;
}

// Outputs start as NaN, so that an op that leaves an element unwritten
// fails; accumulated gradients start from random values.
std::vector<float> Unwritten(int64_t n) { return std::vector<float>(n, NAN); }

double MaxAbs(const std::vector<float>& v) {
  double m = 0.0;
  for (float x : v) m = std::max(m, std::fabs(static_cast<double>(x)));
  return m;
}

void AddGemmCases(uint64_t seed, std::vector<OpCase>* cases) {
  Rng rng(seed);
  for (int trial = 0; trial < 10; ++trial) {
    const bool ta = trial & 1, tb = trial & 2;
    const bool big = trial >= 8;
    const int64_t m = big ? 256 : 1 + rng.Below(67), n = big ? 192 : 1 + rng.Below(45);
    const int64_t k = big ? 512 : 1 + rng.Below(300);
    // Padded leading dimensions catch a confused stride.
    const int64_t lda = (ta ? m : k) + rng.Below(3), ldb = (tb ? k : n) + rng.Below(3);
    const int64_t ldc = n + rng.Below(3);
    const float alpha = trial < 4 ? 1.0f : 0.7f, beta = trial % 3 == 0 ? 0.0f : -1.3f;
    const uint64_t s = seed + 100 * trial;
    cases->push_back({"Gemm ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) + " " +
                          Dims({m, n, k}) + " beta=" + std::to_string(beta),
                      [=](Backend& backend) {
                        const auto a = RandomVector((ta ? k : m) * lda, s + 1);
                        const auto b = RandomVector((tb ? n : k) * ldb, s + 2);
                        // beta == 0: C must not be read (NaN stays out).
                        auto c = beta == 0.0f ? Unwritten(m * ldc) : RandomVector(m * ldc, s + 3);
                        backend.Gemm(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta,
                                     c.data(), ldc);
                        return Outputs{{"c", c, kSumTol}};
                      }});
  }
}

void AddLinearCases(uint64_t seed, bool large, std::vector<OpCase>* cases) {
  struct Shape {
    int64_t rows, in, out;
  };
  // The last two are vit-mlp's MLP at batch 512: long sums that
  // implementations may split over threads (then reduced in a fixed order,
  // or the reruns would differ). out < in (13x29x7, fc2) takes oneDNN's
  // transposed weight-gradient path.
  for (const Shape& sh : {Shape{13, 29, 7}, Shape{512, 64, 256}, Shape{1, 1, 1},
                          Shape{25600, 64, 256}, Shape{25600, 256, 64}}) {
    if (sh.rows > 512 && !large) continue;
    for (bool bias : {true, false}) {
      const uint64_t s = seed + sh.rows * 1000 + sh.in * 10 + bias;
      cases->push_back({"Linear " + Dims({sh.rows, sh.in, sh.out}) + (bias ? " bias" : " no bias"),
                        [=](Backend& backend) {
                          const int64_t rows = sh.rows, in = sh.in, out = sh.out;
                          const auto x = RandomVector(rows * in, s + 1),
                                     w = RandomVector(out * in, s + 2);
                          const auto b = RandomVector(out, s + 3),
                                     dy = RandomVector(rows * out, s + 4);
                          auto y = Unwritten(rows * out), dx = Unwritten(rows * in);
                          auto dw = RandomVector(out * in, s + 5), db = RandomVector(out, s + 6);
                          const float* bp = bias ? b.data() : nullptr;
                          float* dbp = bias ? db.data() : nullptr;
                          backend.LinearForward(x.data(), w.data(), bp, y.data(), rows, in, out);
                          const auto r = RandomVector(rows * out, s + 7);
                          auto yr = Unwritten(rows * out);
                          backend.LinearForwardResidual(x.data(), w.data(), bp, r.data(), yr.data(),
                                                        rows, in, out);
                          backend.LinearBackward(x.data(), w.data(), dy.data(), dx.data(),
                                                 dw.data(), dbp, rows, in, out);
                          // No dx (a first layer): the same parameter gradients.
                          auto dw2 = RandomVector(out * in, s + 5), db2 = RandomVector(out, s + 6);
                          backend.LinearBackward(x.data(), w.data(), dy.data(), nullptr, dw2.data(),
                                                 bias ? db2.data() : nullptr, rows, in, out);
                          return Outputs{{"y", y, kSumTol},         {"y + r", yr, kSumTol},
                                         {"dx", dx, kSumTol},       {"dw", dw, kSumTol},
                                         {"db", db, kSumTol},       {"dw no-dx", dw2, kSumTol},
                                         {"db no-dx", db2, kSumTol}};
                        }});
    }
  }
}

void AddLayerNormCases(uint64_t seed, std::vector<OpCase>* cases) {
  for (int64_t dim : {1, 5, 37, 64}) {
    const int64_t rows = dim == 64 ? 300 : 11;
    const uint64_t s = seed + dim;
    cases->push_back(
        {"LayerNorm " + Dims({rows, dim}), [=](Backend& backend) {
           auto x = RandomVector(rows * dim, s + 1);
           for (float& v : x) v += 3.0f;  // an offset mean
           const auto gamma = RandomVector(dim, s + 2, 0.5f, 1.5f);
           const auto beta = RandomVector(dim, s + 3);
           const auto dy = RandomVector(rows * dim, s + 4);
           auto y = Unwritten(rows * dim), mean = Unwritten(rows);
           auto rstd = Unwritten(rows), dx = Unwritten(rows * dim);
           auto dg = RandomVector(dim, s + 5), db = RandomVector(dim, s + 6);
           backend.LayerNormForward(x.data(), gamma.data(), beta.data(), y.data(), mean.data(),
                                    rstd.data(), rows, dim, 1e-5f);
           backend.LayerNormBackward(x.data(), gamma.data(), mean.data(), rstd.data(), dy.data(),
                                     dx.data(), dg.data(), db.data(), rows, dim);
           auto dg2 = RandomVector(dim, s + 5), db2 = RandomVector(dim, s + 6);
           backend.LayerNormBackward(x.data(), gamma.data(), mean.data(), rstd.data(), dy.data(),
                                     nullptr, dg2.data(), db2.data(), rows, dim);
           // dx cancels (to exactly 0 for dim 1), and so may the column sums
           // of dgamma and dbeta: their error scales with the terms, rstd |dy
           // gamma| and (about) rows * |dy| plus the starting value.
           const double dy_max = MaxAbs(dy);
           const double dx_scale = MaxAbs(rstd) * dy_max * MaxAbs(gamma);
           const double sum_scale = 1.0 + rows * dy_max * 3.0;
           return Outputs{{"y", y, kSumTol},
                          {"mean", mean, kSumTol},
                          {"rstd", rstd, kSumTol},
                          {"dx", dx, kSumTol, dx_scale},
                          {"dgamma", dg, kSumTol, sum_scale},
                          {"dbeta", db, kSumTol, sum_scale},
                          {"dgamma no-dx", dg2, kSumTol, sum_scale},
                          {"dbeta no-dx", db2, kSumTol, sum_scale}};
         }});
  }
}

void AddElementwiseCases(uint64_t seed, std::vector<OpCase>* cases) {
  cases->push_back({"Gelu 1001", [=](Backend& backend) {
                      const int64_t n = 1001;
                      auto x = RandomVector(n, seed + 1, -6.0f, 6.0f);
                      x[0] = 0.0f;
                      const auto dy = RandomVector(n, seed + 2);
                      auto y = Unwritten(n), dx = Unwritten(n);
                      backend.GeluForward(x.data(), y.data(), n);
                      backend.GeluBackward(x.data(), dy.data(), dx.data(), n);
                      return Outputs{{"y", y, kGeluTol}, {"dx", dx, kGeluTol}};
                    }});
  cases->push_back({"Relu 257", [=](Backend& backend) {
                      const int64_t n = 257;
                      auto x = RandomVector(n, seed + 3);
                      x[0] = 0.0f;  // gradient 0 at x == 0
                      x[1] = -0.0f;
                      x[100] = 0.0f;
                      const auto dy = RandomVector(n, seed + 4);
                      auto y = Unwritten(n), dx = Unwritten(n);
                      backend.ReluForward(x.data(), y.data(), n);
                      backend.ReluBackward(x.data(), dy.data(), dx.data(), n);
                      return Outputs{{"y", y, 0.0}, {"dx", dx, 0.0}};
                    }});
  for (int64_t cols : {1, 10, 65}) {
    cases->push_back({"Softmax " + Dims({9, cols}), [=](Backend& backend) {
                        const int64_t rows = 9;
                        auto x = RandomVector(rows * cols, seed + 10 + cols, -5.0f, 5.0f);
                        x[0] += 80.0f;  // overflows exp() without the max subtraction
                        const auto dy = RandomVector(rows * cols, seed + 20 + cols);
                        auto y = Unwritten(rows * cols), dx = Unwritten(rows * cols);
                        backend.SoftmaxForward(x.data(), y.data(), rows, cols);
                        backend.SoftmaxBackward(y.data(), dy.data(), dx.data(), rows, cols);
                        return Outputs{{"y", y, kSumTol}, {"dx", dx, kSumTol}};
                      }});
  }
}

void AddConvPoolCases(uint64_t seed, bool large, std::vector<OpCase>* cases) {
  struct Shape {
    int64_t n, cin, h, w, cout, k;
  };
  // Odd sizes, kernels 1 to 7, a 1x1 image, VGG5's layer shapes, and a
  // batch large enough for the weight gradient to be split over threads.
  for (const Shape& sh :
       {Shape{3, 2, 5, 7, 3, 3}, Shape{2, 3, 4, 4, 5, 5}, Shape{4, 3, 3, 5, 2, 1},
        Shape{1, 1, 1, 1, 2, 3}, Shape{2, 4, 2, 9, 3, 7}, Shape{3, 16, 7, 7, 24, 3},
        Shape{4, 1, 28, 28, 32, 3}, Shape{4, 32, 14, 14, 64, 3}, Shape{4, 64, 7, 7, 128, 3},
        Shape{64, 32, 14, 14, 64, 3}}) {
    if (sh.n > 4 && !large) continue;
    const uint64_t s = seed + sh.n * 7 + sh.cin * 1000 + sh.h * 31 + sh.w + sh.cout * 77;
    cases->push_back(
        {"Conv " + Dims({sh.n, sh.cin, sh.h, sh.w, sh.cout, sh.k}), [=](Backend& backend) {
           const int64_t xs = sh.n * sh.cin * sh.h * sh.w, ys = sh.n * sh.cout * sh.h * sh.w;
           const int64_t ws = sh.cout * sh.cin * sh.k * sh.k;
           const auto x = RandomVector(xs, s + 1), w = RandomVector(ws, s + 2);
           const auto b = RandomVector(sh.cout, s + 3), dy = RandomVector(ys, s + 4);
           auto y = Unwritten(ys), dx = Unwritten(xs);
           auto dw = RandomVector(ws, s + 5), db = RandomVector(sh.cout, s + 6);
           backend.ConvSameForward(x.data(), w.data(), b.data(), y.data(), sh.n, sh.cin, sh.h, sh.w,
                                   sh.cout, sh.k);
           backend.ConvSameBackward(x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(),
                                    sh.n, sh.cin, sh.h, sh.w, sh.cout, sh.k);
           auto dw2 = RandomVector(ws, s + 5), db2 = RandomVector(sh.cout, s + 6);
           backend.ConvSameBackward(x.data(), w.data(), dy.data(), nullptr, dw2.data(), db2.data(),
                                    sh.n, sh.cin, sh.h, sh.w, sh.cout, sh.k);
           return Outputs{{"y", y, kSumTol},          {"dx", dx, kSumTol},
                          {"dw", dw, kSumTol},        {"db", db, kSumTol},
                          {"dw no-dx", dw2, kSumTol}, {"db no-dx", db2, kSumTol}};
         }});
  }
  struct PoolShape {
    int64_t n, c, h, w;
  };
  for (const PoolShape& sh : {PoolShape{2, 3, 5, 7}, PoolShape{1, 2, 4, 4}, PoolShape{3, 1, 1, 6},
                              PoolShape{4, 32, 28, 28}, PoolShape{4, 128, 7, 7}}) {
    const uint64_t s = seed + sh.n * 3 + sh.c * 100 + sh.h * 10 + sh.w;
    cases->push_back(
        {"MaxPool " + Dims({sh.n, sh.c, sh.h, sh.w}), [=](Backend& backend) {
           const int64_t xs = sh.n * sh.c * sh.h * sh.w;
           const int64_t ys = sh.n * sh.c * (sh.h / 2) * (sh.w / 2);
           // Continuous random values: no ties.
           const auto x = RandomVector(xs, s + 1), dy = RandomVector(ys, s + 2);
           auto y = Unwritten(ys), y_eval = Unwritten(ys), dx = Unwritten(xs);
           std::vector<uint8_t> argmax(ys, 255);
           backend.MaxPool2x2Forward(x.data(), y.data(), argmax.data(), sh.n, sh.c, sh.h, sh.w);
           backend.MaxPool2x2Forward(x.data(), y_eval.data(), nullptr, sh.n, sh.c, sh.h, sh.w);
           backend.MaxPool2x2Backward(argmax.data(), dy.data(), dx.data(), sh.n, sh.c, sh.h, sh.w);
           // The argmax bytes are part of the interface (the
           // window index 0..3): compare them as numbers.
           return Outputs{{"y", y, 0.0},
                          {"y without argmax", y_eval, 0.0},
                          {"argmax", std::vector<float>(argmax.begin(), argmax.end()), 0.0},
                          {"dx", dx, 0.0}};
         }});
  }
}

// `large`: also the training-size shapes (slower).
std::vector<OpCase> AllOpCases(uint64_t seed, bool large) {
  std::vector<OpCase> cases;
  AddGemmCases(seed, &cases);
  AddLinearCases(seed + 1, large, &cases);
  AddLayerNormCases(seed + 2, &cases);
  AddElementwiseCases(seed + 3, &cases);
  AddConvPoolCases(seed + 4, large, &cases);
  return cases;
}

// Largest |got - want| / (tol * max(max |want|, scale)) of one output (<= 1
// passes);
// NaN where want is not NaN (and vice versa) fails.
double ErrorRatio(const std::vector<float>& got, const std::vector<float>& want, double tol,
                  double scale) {
  double largest = scale, worst = 0.0;
  for (float w : want) {
    if (!std::isnan(w)) largest = std::max(largest, std::fabs(static_cast<double>(w)));
  }
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) || std::isnan(want[i])) {
      if (std::isnan(got[i]) != std::isnan(want[i])) return INFINITY;
      continue;
    }
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (tol == 0.0) {
      if (got[i] != want[i]) return INFINITY;  // -0 == +0
      continue;
    }
    worst = std::max(worst, err / (tol * std::max(largest, 1e-30)));
  }
  return worst;
}

// Runs every case on `backend` and `reference`; returns one line per
// violation (empty: all agree and reruns are bit-identical).
std::vector<std::string> CompareBackends(Backend& backend, Backend& reference,
                                         const std::vector<OpCase>& cases, bool verbose) {
  std::vector<std::string> failures;
  for (const OpCase& c : cases) {
    const Outputs want = c.run(reference);
    const Outputs got = c.run(backend);
    const Outputs again = c.run(backend);
    for (size_t o = 0; o < want.size(); ++o) {
      const std::string what = std::string(backend.name()) + " " + c.name + " " + want[o].name;
      if (got[o].v.size() != want[o].v.size()) {
        failures.push_back(what + ": size differs");
        continue;
      }
      const double ratio = ErrorRatio(got[o].v, want[o].v, want[o].tol, want[o].scale);
      if (verbose) std::printf("  %-60s error/tolerance %.3g\n", what.c_str(), ratio);
      if (!(ratio <= 1.0)) {
        failures.push_back(what + ": error/tolerance " + std::to_string(ratio) + " (tolerance " +
                           std::to_string(want[o].tol) + ")");
      }
      if (!BitIdentical(got[o].v, again[o].v)) failures.push_back(what + ": rerun differs");
    }
  }
  return failures;
}

TEST(BackendConsistencyTest, EveryOpOnEveryBackendMatchesBlas) {
  const uint64_t seed = TestSeed() + 40;
  SCOPED_TRACE(SeedNote(seed));
  const bool verbose = std::getenv("TWOPHASE_TEST_VERBOSE") != nullptr;
  const std::vector<OpCase> cases = AllOpCases(seed, true);
  auto reference = MakeBlasBackend();
  for (const std::string& name : BackendNames()) {
    std::string error;
    auto backend = MakeBackend(name, &error);
    ASSERT_NE(backend, nullptr) << error;
    const auto failures = CompareBackends(*backend, *reference, cases, verbose);
    EXPECT_TRUE(failures.empty()) << name << ":" << Join(failures);
  }
}

// LinearForwardResidual is, bit for bit, LinearForward followed by
// y = r + y (what the models relied on before the residual was fused into
// the GEMM), on every backend and at the shapes the ViT uses it at.
TEST(BackendConsistencyTest, LinearResidualIsLinearThenAdd) {
  const uint64_t seed = TestSeed() + 42;
  SCOPED_TRACE(SeedNote(seed));
  for (const std::string& name : BackendNames()) {
    std::string error;
    auto backend = MakeBackend(name, &error);
    ASSERT_NE(backend, nullptr) << error;
    struct Shape {
      int64_t rows, in, out;
    };
    for (const Shape& sh : {Shape{25600, 64, 64}, Shape{25600, 256, 64}, Shape{13, 29, 7}}) {
      for (bool bias : {true, false}) {
        SCOPED_TRACE(name + " " + std::to_string(sh.rows) + "x" + std::to_string(sh.in) + "x" +
                     std::to_string(sh.out) + (bias ? " bias" : ""));
        const auto x = RandomVector(sh.rows * sh.in, seed + 1);
        const auto w = RandomVector(sh.out * sh.in, seed + 2);
        const auto b = RandomVector(sh.out, seed + 3);
        const auto r = RandomVector(sh.rows * sh.out, seed + 4, -30.0f, 30.0f);
        std::vector<float> want(sh.rows * sh.out), got(sh.rows * sh.out);
        backend->LinearForward(x.data(), w.data(), bias ? b.data() : nullptr, want.data(), sh.rows,
                               sh.in, sh.out);
        for (size_t i = 0; i < want.size(); ++i) want[i] = r[i] + want[i];
        backend->LinearForwardResidual(x.data(), w.data(), bias ? b.data() : nullptr, r.data(),
                                       got.data(), sh.rows, sh.in, sh.out);
        EXPECT_TRUE(BitIdentical(got, want));
      }
    }
  }
}

// The test above fails for each kind of bug it is meant to catch.
TEST(BackendConsistencyTest, MutationsAreCaught) {
  const uint64_t seed = TestSeed() + 41;
  SCOPED_TRACE(SeedNote(seed));
  const std::vector<OpCase> cases = AllOpCases(seed, false);
  auto reference = MakeBlasBackend();
  struct Expected {
    Mutation mutation;
    const char* finding;  // in every reported line
  };
  for (const Expected& e : {Expected{Mutation::kNoLinearBiasGrad, "Linear"},
                            Expected{Mutation::kConvWeightGradOverwrites, " dw"},
                            Expected{Mutation::kReluGradOneAtZero, "Relu 257 dx"},
                            Expected{Mutation::kLayerNormGammaGradTooLarge, "dgamma"},
                            Expected{Mutation::kConvRerunsDiffer, "rerun differs"}}) {
    MutantBackend mutant(MakeOnednnBackend(), e.mutation);
    const auto failures = CompareBackends(mutant, *reference, cases, false);
    EXPECT_FALSE(failures.empty()) << "mutation " << static_cast<int>(e.mutation) << " missed";
    for (const std::string& f : failures) {
      EXPECT_NE(f.find(e.finding), std::string::npos)
          << "mutation " << static_cast<int>(e.mutation) << " reported elsewhere: " << f;
    }
  }
}

}  // namespace
}  // namespace twophase
