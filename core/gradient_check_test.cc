// The gradient checker itself: it accepts a correct gradient and rejects
// perturbed ones (one entry 5 % off, a flipped sign, a missing term, a NaN),
// both on a smooth test function and on real backend gradients in float32.
// This is what makes the layer tests (models/layers_test.cc) meaningful:
// their tolerances are the defaults exercised here. The data seed is
// TWOPHASE_TEST_SEED (default fixed).
#include "core/gradient_check.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/test_seed.h"

namespace twophase {
namespace {

// f(x) = sum_i r_i tanh((A x)_i) + 1/2 sum_j c_j x_j^2, in double, with
//   df/dx = A^T (r * (1 - tanh^2(A x))) + c * x.
// The two terms of the gradient can be left out one at a time.
class SmoothFunction {
 public:
  static constexpr int64_t kIn = 12, kOut = 8;
  explicit SmoothFunction(uint64_t seed)
      : a_(RandomVector(kOut * kIn, seed + 1)),
        r_(RandomVector(kOut, seed + 2)),
        c_(RandomVector(kIn, seed + 3)),
        x_(RandomVector(kIn, seed + 4)) {}

  std::vector<float>& x() { return x_; }
  double Value() const {
    double f = 0.0;
    for (int64_t i = 0; i < kOut; ++i) f += r_[i] * std::tanh(Ax(i));
    for (int64_t j = 0; j < kIn; ++j) f += 0.5 * c_[j] * x_[j] * x_[j];
    return f;
  }
  std::vector<float> Gradient(bool chain_term = true, bool quadratic_term = true) const {
    std::vector<double> g(kIn, 0.0);
    for (int64_t i = 0; i < kOut; ++i) {
      const double t = std::tanh(Ax(i));
      const double d = r_[i] * (chain_term ? 1.0 - t * t : 1.0);
      for (int64_t j = 0; j < kIn; ++j) g[j] += a_[i * kIn + j] * d;
    }
    if (quadratic_term) {
      for (int64_t j = 0; j < kIn; ++j) g[j] += c_[j] * x_[j];
    }
    return std::vector<float>(g.begin(), g.end());
  }

 private:
  double Ax(int64_t i) const {
    double s = 0.0;
    for (int64_t j = 0; j < kIn; ++j) s += a_[i * kIn + j] * x_[j];
    return s;
  }
  std::vector<float> a_, r_, c_, x_;
};

// The index of the largest |g|: a perturbation of 5 % of it is far above the
// absolute tolerance.
int64_t LargestEntry(const std::vector<float>& g) {
  int64_t best = 0;
  for (size_t i = 1; i < g.size(); ++i) {
    if (std::fabs(g[i]) > std::fabs(g[best])) best = i;
  }
  return best;
}

TEST(GradientCheckTest, AcceptsCorrectGradient) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  SmoothFunction f(seed);
  const auto g = f.Gradient();
  const auto result = CheckGradient(f.x().data(), f.kIn, g.data(), [&] { return f.Value(); });
  EXPECT_TRUE(result.ok) << result.message;
  EXPECT_EQ(result.checked, f.kIn);
  EXPECT_EQ(result.failures, 0);
  // Well inside the tolerance, not just barely.
  EXPECT_LT(result.worst_ratio, 0.2) << result.message;
}

TEST(GradientCheckTest, RejectsOneEntryFivePercentOff) {
  const uint64_t seed = TestSeed() + 1;
  SCOPED_TRACE(SeedNote(seed));
  SmoothFunction f(seed);
  auto g = f.Gradient();
  const int64_t i = LargestEntry(g);
  g[i] *= 1.05f;
  const auto result = CheckGradient(f.x().data(), f.kIn, g.data(), [&] { return f.Value(); });
  EXPECT_FALSE(result.ok) << result.message;
  EXPECT_EQ(result.failures, 1) << result.message;
  EXPECT_EQ(result.worst_index, i) << result.message;
}

TEST(GradientCheckTest, RejectsFlippedSign) {
  const uint64_t seed = TestSeed() + 2;
  SCOPED_TRACE(SeedNote(seed));
  SmoothFunction f(seed);
  auto g = f.Gradient();
  const int64_t i = LargestEntry(g);
  g[i] = -g[i];
  const auto result = CheckGradient(f.x().data(), f.kIn, g.data(), [&] { return f.Value(); });
  EXPECT_FALSE(result.ok) << result.message;
  EXPECT_EQ(result.worst_index, i) << result.message;
}

TEST(GradientCheckTest, RejectsMissingTerm) {
  const uint64_t seed = TestSeed() + 3;
  SCOPED_TRACE(SeedNote(seed));
  SmoothFunction f(seed);
  for (bool chain : {true, false}) {
    // Without the quadratic term's gradient, or without the tanh' factor of
    // the chain rule.
    const auto g = f.Gradient(/*chain_term=*/chain, /*quadratic_term=*/!chain);
    const auto result = CheckGradient(f.x().data(), f.kIn, g.data(), [&] { return f.Value(); });
    EXPECT_FALSE(result.ok) << (chain ? "no quadratic term: " : "no tanh': ") << result.message;
  }
}

TEST(GradientCheckTest, RejectsNaN) {
  SmoothFunction f(TestSeed() + 4);
  auto g = f.Gradient();
  g[3] = NAN;
  const auto result = CheckGradient(f.x().data(), f.kIn, g.data(), [&] { return f.Value(); });
  EXPECT_FALSE(result.ok) << result.message;
  EXPECT_EQ(result.failures, 1) << result.message;
  EXPECT_EQ(result.worst_index, 3) << result.message;
}

// f(x) = sum_i r_i relu(x_i), with x_2 inside the step of the kink at 0.
TEST(GradientCheckTest, SkipsKinksButStillCatchesWrongEntries) {
  std::vector<float> x = {0.5f, -0.7f, 4e-4f, 1.2f, -0.3f};
  const std::vector<float> r = {1.0f, -2.0f, 3.0f, 0.5f, 1.5f};
  auto f = [&] {
    double s = 0.0;
    for (size_t i = 0; i < x.size(); ++i) s += r[i] * std::max(0.0f, x[i]);
    return s;
  };
  std::vector<float> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) g[i] = x[i] > 0 ? r[i] : 0.0f;
  GradientCheckOptions options;
  auto plain = CheckGradient(x.data(), 5, g.data(), f, options);
  EXPECT_FALSE(plain.ok) << "the kink at x_2 should spoil the plain check";
  EXPECT_EQ(plain.worst_index, 2) << plain.message;

  options.skip_kinks = true;
  auto skipping = CheckGradient(x.data(), 5, g.data(), f, options);
  EXPECT_TRUE(skipping.ok) << skipping.message;
  EXPECT_EQ(skipping.skipped, 1);
  EXPECT_EQ(skipping.checked, 4);

  g[3] *= 1.05f;
  auto wrong = CheckGradient(x.data(), 5, g.data(), f, options);
  EXPECT_FALSE(wrong.ok) << wrong.message;
  EXPECT_EQ(wrong.worst_index, 3) << wrong.message;
}

TEST(GradientCheckTest, SamplesCoordinatesAndRestoresX) {
  SmoothFunction f(TestSeed() + 5);
  const auto x0 = f.x();
  const auto g = f.Gradient();
  GradientCheckOptions options;
  options.max_coordinates = 5;
  const auto result = CheckGradient(
      f.x().data(), f.kIn, g.data(), [&] { return f.Value(); }, options);
  EXPECT_TRUE(result.ok) << result.message;
  EXPECT_EQ(result.checked, 5);
  EXPECT_EQ(f.x(), x0);  // every perturbation undone exactly
}

// The same on float32 backend ops with the default tolerances, as the layer
// tests use them: the conv weight gradient with one entry 5 % off, and the
// LayerNorm input gradient without its xhat * mean(g * xhat) term.
TEST(GradientCheckTest, RejectsPerturbedBackendGradients) {
  const uint64_t seed = TestSeed() + 6;
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeBlasBackend();
  {
    const int64_t n = 2, cin = 2, h = 4, w = 5, cout = 3, k = 3;
    auto x = RandomVector(n * cin * h * w, seed + 1);
    auto cw = RandomVector(cout * cin * k * k, seed + 2);
    const auto b = RandomVector(cout, seed + 3);
    const auto r = RandomVector(n * cout * h * w, seed + 4);
    std::vector<float> y(r.size()), dw(cw.size(), 0.0f), db(cout, 0.0f);
    auto loss = [&] {
      backend->ConvSameForward(x.data(), cw.data(), b.data(), y.data(), n, cin, h, w, cout, k);
      return ProjectedLoss(y.data(), r);
    };
    backend->ConvSameBackward(x.data(), cw.data(), r.data(), nullptr, dw.data(), db.data(), n, cin,
                              h, w, cout, k);
    // As in layers_test: the loss is linear in the weights, so a larger step
    // costs no truncation error and keeps float rounding noise (about
    // 1e-7 * sqrt(outputs moved) / step) below atol.
    GradientCheckOptions options;
    options.step = 1e-2;
    auto good = CheckGradient(cw.data(), cw.size(), dw.data(), loss, options);
    EXPECT_TRUE(good.ok) << "conv dw: " << good.message;
    const int64_t i = LargestEntry(dw);
    dw[i] *= 1.05f;
    auto bad = CheckGradient(cw.data(), cw.size(), dw.data(), loss, options);
    EXPECT_FALSE(bad.ok) << "conv dw, entry 5 % off: " << bad.message;
    EXPECT_EQ(bad.failures, 1) << bad.message;
  }
  {
    const int64_t rows = 3, dim = 6;
    auto x = RandomVector(rows * dim, seed + 5, -2.0f, 2.0f);
    const auto gamma = RandomVector(dim, seed + 6);
    const auto beta = RandomVector(dim, seed + 7);
    const auto r = RandomVector(rows * dim, seed + 8);
    std::vector<float> y(r.size()), mean(rows), rstd(rows), dx(x.size());
    std::vector<float> dg(dim), dbeta(dim);
    auto loss = [&] {
      backend->LayerNormForward(x.data(), gamma.data(), beta.data(), y.data(), mean.data(),
                                rstd.data(), rows, dim, 1e-5f);
      return ProjectedLoss(y.data(), r);
    };
    loss();
    backend->LayerNormBackward(x.data(), gamma.data(), mean.data(), rstd.data(), r.data(),
                               dx.data(), dg.data(), dbeta.data(), rows, dim);
    GradientCheckOptions options;
    options.step = 1e-2;  // as in layers_test, for the same reason
    auto good = CheckGradient(x.data(), x.size(), dx.data(), loss, options);
    EXPECT_TRUE(good.ok) << "layernorm dx: " << good.message;
    // dx without the projection term: rstd * (g - mean(g)).
    std::vector<float> wrong(x.size());
    for (int64_t row = 0; row < rows; ++row) {
      double mg = 0.0;
      for (int64_t c = 0; c < dim; ++c) mg += r[row * dim + c] * gamma[c];
      mg /= dim;
      for (int64_t c = 0; c < dim; ++c) {
        wrong[row * dim + c] = static_cast<float>(rstd[row] * (r[row * dim + c] * gamma[c] - mg));
      }
    }
    auto bad = CheckGradient(x.data(), x.size(), wrong.data(), loss, options);
    EXPECT_FALSE(bad.ok) << "layernorm dx, term missing: " << bad.message;
  }
}

}  // namespace
}  // namespace twophase
