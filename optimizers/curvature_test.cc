// Lanczos against operators with known spectra, and the central-difference
// Hessian-vector products against analytic Hessians of classic problems.
#include "optimizers/curvature.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"
#include "core/test_seed.h"
#include "optimizers/test_problems.h"

namespace twophase {
namespace {

// A = Q diag(lambda) Q^T with a seeded random orthogonal Q (Gram-Schmidt of
// Gaussian columns), as a dense row-major matrix.
std::vector<double> WithSpectrum(const std::vector<double>& lambda, uint64_t seed) {
  const int64_t n = static_cast<int64_t>(lambda.size());
  Rng rng(seed);
  std::vector<std::vector<double>> q(n, std::vector<double>(n));
  for (int64_t j = 0; j < n; ++j) {
    for (double& v : q[j]) v = rng.Normal();
    for (int64_t k = 0; k < j; ++k) {
      double c = 0;
      for (int64_t i = 0; i < n; ++i) c += q[k][i] * q[j][i];
      for (int64_t i = 0; i < n; ++i) q[j][i] -= c * q[k][i];
    }
    double norm = 0;
    for (double v : q[j]) norm += v * v;
    for (double& v : q[j]) v /= std::sqrt(norm);
  }
  std::vector<double> a(n * n, 0.0);
  for (int64_t k = 0; k < n; ++k) {
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) a[i * n + j] += lambda[k] * q[k][i] * q[k][j];
    }
  }
  return a;
}

SymmetricOperator Dense(const std::vector<double>* a, int64_t n) {
  return [a, n](const double* v, double* y) {
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t j = 0; j < n; ++j) s += (*a)[i * n + j] * v[j];
      y[i] = s;
    }
  };
}

void ExpectRelative(double got, double want, double rtol, const char* what) {
  EXPECT_LE(std::abs(got - want), rtol * std::abs(want)) << what << ": " << got << " vs " << want;
}

TEST(LanczosTest, RecoversTheExtremesOfAKnownIndefiniteSpectrum) {
  const uint64_t seed = TestSeed();
  // Extremes set apart from a bulk in [-0.5, 1], as a loss's Hessian has a
  // few outlying eigenvalues: 25 steps of 80 find them to 1e-4.
  const int64_t n = 80;
  std::vector<double> lambda(n);
  for (int64_t k = 0; k < n; ++k) lambda[k] = -0.5 + 1.5 * k / (n - 1.0);
  lambda[0] = -3;
  lambda[n - 1] = 12;
  const std::vector<double> a = WithSpectrum(lambda, seed);
  LanczosOptions options;
  options.steps = 25;
  options.seed = seed;
  const LanczosResult r = Lanczos(Dense(&a, n), n, options);
  ExpectRelative(r.lambda_max, 12, 1e-4, "lambda_max");
  ExpectRelative(r.lambda_min, -3, 1e-4, "lambda_min");
  EXPECT_EQ(r.products, 25);
  // The residual bounds bound the actual errors.
  EXPECT_LE(std::abs(r.lambda_max - 12), r.lambda_max_error + 1e-12);
  EXPECT_LE(std::abs(r.lambda_min + 3), r.lambda_min_error + 1e-12);
}

TEST(LanczosTest, FullDimensionGivesEveryEigenvalue) {
  const int64_t n = 12;
  std::vector<double> lambda;
  for (int64_t k = 0; k < n; ++k) lambda.push_back(std::pow(10.0, k / 3.0) - 5);
  const std::vector<double> a = WithSpectrum(lambda, 7);
  LanczosOptions options;
  options.steps = 100;  // capped at n
  const LanczosResult r = Lanczos(Dense(&a, n), n, options);
  ASSERT_EQ(r.ritz_values.size(), static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    EXPECT_NEAR(r.ritz_values[k], lambda[k], 1e-9 * std::abs(lambda.back())) << k;
  }
  // The dense reference the model test checks Lanczos against.
  const std::vector<double> dense = SymmetricEigenvalues(a, n);
  for (int64_t k = 0; k < n; ++k) EXPECT_NEAR(dense[k], lambda[k], 1e-9 * lambda.back()) << k;
}

TEST(LanczosTest, StopsAtToleranceAndRerunsBitIdentically) {
  const int64_t n = 50;
  std::vector<double> lambda(n, 1.0);
  lambda[0] = 0.01;
  lambda[n - 1] = 100;
  const std::vector<double> a = WithSpectrum(lambda, 3);
  LanczosOptions options;
  options.steps = 50;
  options.tolerance = 1e-8;
  const LanczosResult r = Lanczos(Dense(&a, n), n, options);
  // Three distinct eigenvalues: an invariant subspace after three steps.
  EXPECT_LE(r.products, 4);
  ExpectRelative(r.lambda_max, 100, 1e-9, "lambda_max");
  ExpectRelative(r.lambda_min, 0.01, 1e-7, "lambda_min");
  const LanczosResult again = Lanczos(Dense(&a, n), n, options);
  EXPECT_EQ(again.ritz_values, r.ritz_values);
  std::string error;
  options.steps = 0;
  EXPECT_FALSE(options.IsValid(&error));
  EXPECT_EQ(error, "steps must be >= 1, got 0");
}

std::unique_ptr<Objective> Problem(const std::string& name, TestProblemOptions options = {}) {
  TestProblem p;
  std::string error;
  EXPECT_TRUE(MakeTestProblem(name, options, &p, &error)) << error;
  return std::move(p.objective);
}

// Rosenbrock's Hessian: [[1200 x^2 - 400 y + 2, -400 x], [-400 x, 200]].
TEST(HessianVectorProductTest, MatchesRosenbrocksAnalyticHessian) {
  std::unique_ptr<Objective> f = Problem("rosenbrock");
  for (const auto& [x, y] : {std::pair{1.0f, 1.0f}, {-1.2f, 1.0f}, {0.5f, -0.25f}}) {
    const float point[2] = {x, y};
    const double h11 = 1200.0 * x * x - 400.0 * y + 2, h12 = -400.0 * x, h22 = 200;
    HessianVectorProduct hvp(f.get(), point);
    for (const auto& v : {std::vector<double>{1, 0}, {0, 1}, {0.6, -0.8}}) {
      double got[2];
      hvp.Apply(v.data(), got);
      const double want[2] = {h11 * v[0] + h12 * v[1], h12 * v[0] + h22 * v[1]};
      const double scale = std::hypot(h11, h12) + std::hypot(h12, h22);
      for (int i = 0; i < 2; ++i) {
        EXPECT_NEAR(got[i], want[i], 1e-3 * scale) << "at (" << x << ", " << y << "), i=" << i;
      }
      EXPECT_LT(hvp.last_rounding_error(), 1e-3 * scale);
    }
    // The extremes, by Lanczos on the products, against the closed form.
    const double mean = (h11 + h22) / 2, radius = std::hypot((h11 - h22) / 2, h12);
    LanczosOptions options;
    options.steps = 2;
    const LanczosResult r = Lanczos(hvp.AsOperator(), 2, options);
    ExpectRelative(r.lambda_max, mean + radius, 1e-3, "rosenbrock lambda_max");
    EXPECT_NEAR(r.lambda_min, mean - radius, 1e-3 * (mean + radius));
  }
}

// The project's convex quadratic: eigenvalues log-spaced in [1, kappa].
TEST(HessianVectorProductTest, QuadraticProblemGivesItsConditionNumber) {
  TestProblemOptions options;
  options.n = 40;
  options.condition_number = 250;
  options.seed = 5;
  std::unique_ptr<Objective> f = Problem("quadratic", options);
  const std::vector<float> x(40, 0.5f);
  HessianVectorProduct hvp(f.get(), x.data());
  LanczosOptions lanczos;
  lanczos.steps = 40;
  const LanczosResult r = Lanczos(hvp.AsOperator(), 40, lanczos);
  ExpectRelative(r.lambda_max, 250, 1e-4, "lambda_max");
  // The small end carries the products' float32 rounding, ~eps |g| / h, which
  // a quadratic (no truncation error) shows alone: 1e-4 of the spectrum.
  EXPECT_NEAR(r.lambda_min, 1, 1e-4 * 250);
  // Curvature along an eigen-direction-free vector lies between the extremes.
  const double along = CurvatureAlong(&hvp, std::vector<double>(40, 1.0));
  EXPECT_GT(along, r.lambda_min);
  EXPECT_LT(along, r.lambda_max);
  EXPECT_EQ(hvp.products(), r.products + 1);
  EXPECT_EQ(f->counts().gradients, 2 * hvp.products());
}

}  // namespace
}  // namespace twophase
