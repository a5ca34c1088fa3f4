#include "optimizers/scaled_objective.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/gradient_check.h"
#include "core/test_seed.h"
#include "optimizers/conjugate_gradient.h"

namespace twophase {
namespace {

// f(x) = 1/2 sum_i d_i (x_i - 1)^2 with curvatures d_i from 1 to 1e4: the
// badly scaled problem preconditioning is for. Minimum 0 at x = 1.
class DiagonalQuadratic : public Objective {
 public:
  explicit DiagonalQuadratic(int64_t n) : d_(n) {
    for (int64_t i = 0; i < n; ++i) d_[i] = std::pow(1e4, static_cast<double>(i) / (n - 1));
  }
  int64_t size() const override { return static_cast<int64_t>(d_.size()); }
  std::string name() const override { return "diagonal-quadratic"; }
  const std::vector<double>& curvatures() const { return d_; }

 protected:
  double DoValue(const float* x) override {
    double f = 0.0;
    for (size_t i = 0; i < d_.size(); ++i) f += 0.5 * d_[i] * (x[i] - 1.0) * (x[i] - 1.0);
    return f;
  }
  double DoValueAndGradient(const float* x, float* g) override {
    for (size_t i = 0; i < d_.size(); ++i) g[i] = static_cast<float>(d_[i] * (x[i] - 1.0));
    return DoValue(x);
  }

 private:
  std::vector<double> d_;
};

TEST(ScaledObjectiveTest, GradientIsTheChainRule) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  DiagonalQuadratic inner(20);
  std::vector<float> scale = RandomVector(20, seed, 0.1f, 3.0f);
  ScaledObjective scaled(&inner, scale);
  std::vector<float> y = RandomVector(20, seed + 1), g(20);
  scaled.ValueAndGradient(y.data(), g.data());
  GradientCheckOptions options;
  options.step = 1e-2;
  const GradientCheckResult r = CheckGradient(
      y.data(), 20, g.data(), [&] { return scaled.Value(y.data()); }, options);
  EXPECT_TRUE(r.ok) << r.message;
  // The value is the inner value at x = s * y.
  std::vector<float> x(20);
  scaled.FromScaled(y.data(), x.data());
  EXPECT_EQ(scaled.Value(y.data()), inner.Value(x.data()));
  for (int i = 0; i < 20; ++i) EXPECT_FLOAT_EQ(x[i], scale[i] * y[i]);
}

// The gradient in y undone to the gradient in x: what a preconditioned CG
// epoch records as gradient_norm (training/train_loop.cc).
TEST(ScaledObjectiveTest, UnscaledNormIsTheNormOfTheInnerGradient) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  DiagonalQuadratic inner(20);
  ScaledObjective scaled(&inner, RandomVector(20, seed, 0.01f, 3.0f));
  std::vector<float> y = RandomVector(20, seed + 1), x(20), g_y(20), g_x(20);
  scaled.ValueAndGradient(y.data(), g_y.data());
  scaled.FromScaled(y.data(), x.data());
  inner.ValueAndGradient(x.data(), g_x.data());
  const double expected = Norm(g_x.data(), 20);
  EXPECT_NEAR(scaled.UnscaledNorm(g_y.data()), expected, 1e-6 * expected);
  EXPECT_GT(std::abs(Norm(g_y.data(), 20) - expected), 1e-3 * expected);  // the scaling matters
}

// With s = 1/sqrt(d) the scaled problem is perfectly conditioned: CG needs
// one iteration where plain CG needs many.
TEST(ScaledObjectiveTest, DiagonalPreconditioningFixesBadScaling) {
  const int64_t n = 50;
  ConjugateGradientOptions options;
  options.gradient_tolerance = 1e-3;
  options.max_iterations = 500;

  DiagonalQuadratic plain(n);
  std::vector<float> x(n, 0.0f);
  const ConjugateGradientSummary p = ConjugateGradient(options).Minimize(&plain, x.data());

  DiagonalQuadratic inner(n);
  std::vector<float> scale(n);
  for (int64_t i = 0; i < n; ++i)
    scale[i] = static_cast<float>(1.0 / std::sqrt(inner.curvatures()[i]));
  ScaledObjective scaled(&inner, scale);
  std::vector<float> y(n, 0.0f);
  const ConjugateGradientSummary s = ConjugateGradient(options).Minimize(&scaled, y.data());
  scaled.FromScaled(y.data(), x.data());

  EXPECT_TRUE(s.converged()) << s.message;
  EXPECT_LE(s.iterations, 2);
  EXPECT_GT(p.iterations, 10) << "the test problem is not badly scaled enough";
  for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(x[i], 1.0f, 1e-3) << i;
  // The inner objective saw every evaluation.
  EXPECT_EQ(inner.counts().gradients, scaled.counts().gradients);
  EXPECT_EQ(inner.counts().values, scaled.counts().values);
}

TEST(ScaledObjectiveTest, AdamScalesFollowTheSecondMoment) {
  AdamOptions options;
  options.epsilon = 1e-8;
  Adam adam(3, options);
  EXPECT_TRUE(AdamScales(adam, 1e-6).empty());  // no step yet
  std::vector<float> x = {0.0f, 0.0f, 0.0f};
  const std::vector<float> g = {2.0f, 0.5f, 0.0f};
  adam.Step(x.data(), g.data());
  adam.Step(x.data(), g.data());
  // After two steps with the same g, v^ = g^2 exactly (bias-corrected), so
  // s = 1/sqrt(|g| + eps); the zero-gradient entry gets eps = max(1e-8, 1e-6).
  const std::vector<float> s = AdamScales(adam, 1e-6);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_NEAR(s[0], 1.0 / std::sqrt(2.0 + 1e-6), 1e-5);
  EXPECT_NEAR(s[1], 1.0 / std::sqrt(0.5 + 1e-6), 1e-5);
  EXPECT_NEAR(s[2], 1.0 / std::sqrt(1e-6), 1e-2);
}

}  // namespace
}  // namespace twophase
