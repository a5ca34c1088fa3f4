#include "optimizers/test_problems.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "core/gradient_check.h"
#include "core/test_seed.h"

namespace twophase {
namespace {

TestProblem Make(const std::string& name, const TestProblemOptions& options = {}) {
  TestProblem problem;
  std::string error;
  EXPECT_TRUE(MakeTestProblem(name, options, &problem, &error)) << name << ": " << error;
  return problem;
}

double ValueAt(TestProblem& p, const std::vector<float>& x) { return p.objective->Value(x.data()); }

double ValueAt(TestProblem& p, const std::vector<double>& x) {
  const std::vector<float> xf(x.begin(), x.end());
  return ValueAt(p, xf);
}

TEST(TestProblems, EveryNameBuildsWithItsDefaultSize) {
  const std::vector<std::string> names = TestProblemNames();
  EXPECT_EQ(names.size(), 17u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    TestProblem p = Make(name);
    ASSERT_NE(p.objective, nullptr);
    EXPECT_EQ(p.name, name);
    EXPECT_EQ(p.objective->name(), name);
    EXPECT_EQ(p.objective->size(), p.n);
    EXPECT_EQ(static_cast<int64_t>(p.start.size()), p.n);
    EXPECT_TRUE(p.minimizer.empty() || static_cast<int64_t>(p.minimizer.size()) == p.n);
    EXPECT_FALSE(p.notes.empty());
    const double f0 = ValueAt(p, p.start);
    EXPECT_TRUE(std::isfinite(f0));
    EXPECT_GT(f0, p.minimum_value);  // no problem starts at its minimum
    // Counted evaluations.
    std::vector<float> g(p.n);
    p.objective->ResetCounts();
    p.objective->Value(p.start.data());
    p.objective->ValueAndGradient(p.start.data(), g.data());
    EXPECT_EQ(p.objective->counts().values, 1);
    EXPECT_EQ(p.objective->counts().gradients, 1);
  }
  // Default sizes.
  EXPECT_EQ(Make("rosenbrock").n, 2);
  EXPECT_EQ(Make("extended-rosenbrock").n, 10);
  EXPECT_EQ(Make("powell-singular").n, 4);
  EXPECT_EQ(Make("wood").n, 4);
  EXPECT_EQ(Make("helical-valley").n, 3);
  EXPECT_EQ(Make("trigonometric").n, 10);
  EXPECT_EQ(Make("broyden-tridiagonal").n, 10);
  EXPECT_EQ(Make("quadratic").n, 20);
  EXPECT_EQ(Make("more-thuente-3").n, 1);
}

// f(x0) as published by More, Garbow & Hillstrom (1981), or derived from
// their definitions where they give none.
TEST(TestProblems, StartingValuesMatchThePublishedOnes) {
  // -1.2 is not a float32: x1 = -1.2000000477, and f moves by |df/dx1| 4.8e-8.
  TestProblem rosenbrock = Make("rosenbrock");
  EXPECT_NEAR(ValueAt(rosenbrock, rosenbrock.start), 24.2, 1e-4);
  struct Published {
    const char* name;
    double value;
  };
  const Published exact[] = {
      {"wood", 19192.0},
      {"powell-singular", 215.0},
      {"beale", 14.203125},
      {"helical-valley", 2500.0},
      {"freudenstein-roth", 400.5},
      // (1 - 1e6)^2 + (1 - 2e-6)^2 + (1 - 2)^2: the often quoted
      // 999998000001 is the first term alone.
      {"brown-badly-scaled", 999998000001.0 + 0.999996000004 + 1.0},
      // Derived: 8 residuals of -1 and r_1 = -2, r_n = -3: n + 11.
      {"broyden-tridiagonal", 21.0},
  };
  for (const Published& p : exact) {
    SCOPED_TRACE(p.name);
    TestProblem problem = Make(p.name);
    EXPECT_DOUBLE_EQ(ValueAt(problem, problem.start), p.value);
  }
  TestProblem ext = Make("extended-rosenbrock", {.n = 10});
  EXPECT_NEAR(ValueAt(ext, ext.start), 5 * 24.2, 5e-4);
  TestProblem powell8 = Make("powell-singular", {.n = 8});
  EXPECT_DOUBLE_EQ(ValueAt(powell8, powell8.start), 2 * 215.0);

  // Trigonometric: recompute from MGH's residuals directly, at x0 = 1/n.
  TestProblem trig = Make("trigonometric");
  const int n = 10;
  const double xj = static_cast<float>(1.0 / n);
  double f = 0.0;
  for (int i = 1; i <= n; ++i) {
    const double r = n - n * std::cos(xj) + i * (1 - std::cos(xj)) - std::sin(xj);
    f += r * r;
  }
  EXPECT_NEAR(ValueAt(trig, trig.start), f, 1e-12 * f);
}

TEST(TestProblems, KnownMinimaAreAttained) {
  for (const std::string& name : TestProblemNames()) {
    SCOPED_TRACE(name);
    TestProblem p = Make(name);
    if (p.minimizer.empty()) continue;
    std::vector<float> x(p.minimizer.begin(), p.minimizer.end());
    std::vector<float> g(p.n);
    const double f = p.objective->ValueAndGradient(x.data(), g.data());
    if (name == "brown-badly-scaled") {
      // x2* = 2e-6 rounds to 1.99999999495e-6 in float32: f = 2.55e-17 there.
      EXPECT_LT(f, 1e-16);
      EXPECT_GE(f, 0.0);
    } else if (name.rfind("more-thuente-", 0) == 0) {
      // Irrational minimisers, rounded to float32: f is off by
      // phi'' ulp^2 / 2 at most.
      EXPECT_NEAR(f, p.minimum_value, 1e-12);
      EXPECT_NEAR(g[0], 0.0, 1e-5);
    } else {
      // Representable minimisers: exact.
      EXPECT_EQ(f, p.minimum_value);
      for (int64_t i = 0; i < p.n; ++i) EXPECT_EQ(g[i], 0.0f) << i;
    }
  }
  // Freudenstein-Roth's local minimum (in the notes): a stationary point
  // with f = 48.98425367924.
  TestProblem fr = Make("freudenstein-roth");
  EXPECT_NE(fr.notes.find("48.98"), std::string::npos);
  std::vector<float> x = {11.41277898690f, -0.896805253274f};
  std::vector<float> g(2);
  EXPECT_NEAR(fr.objective->ValueAndGradient(x.data(), g.data()), 48.98425367924, 1e-9);
  EXPECT_NEAR(g[0], 0.0, 1e-4);
  EXPECT_NEAR(g[1], 0.0, 1e-4);
}

TEST(TestProblems, MoreThuenteMinimumValues) {
  constexpr double kPi = std::numbers::pi;
  auto gamma = [](double b) { return std::sqrt(1 + b * b) - b; };
  EXPECT_DOUBLE_EQ(Make("more-thuente-1").minimum_value, -1.0 / (2.0 * std::sqrt(2.0)));
  EXPECT_NEAR(Make("more-thuente-2").minimum_value, -2.62144, 1e-12);
  EXPECT_DOUBLE_EQ(Make("more-thuente-3").minimum_value, 0.005 - 2 * 0.99 / (39 * kPi));
  EXPECT_DOUBLE_EQ(Make("more-thuente-4").minimum_value, 2 * gamma(0.001) * std::sqrt(0.25 + 1e-6));
  // phi5 and phi6 mirror each other (phi6(a) = phi5(1 - a)); their
  // minimisers are not closed-form: the values are checked against a
  // dense scan, and against each other.
  const double m5 = Make("more-thuente-5").minimum_value;
  const double m6 = Make("more-thuente-6").minimum_value;
  EXPECT_NEAR(m5, 0.9913848122425983, 1e-13);
  EXPECT_NEAR(m5, m6, 1e-13);
  for (int k = 4; k <= 6; ++k) {
    TestProblem p = Make("more-thuente-" + std::to_string(k));
    for (int i = 0; i <= 2000; ++i) {
      const float a = static_cast<float>(i * 0.0005);
      EXPECT_GE(p.objective->Value(&a), p.minimum_value - 1e-15) << "phi" << k << " at " << a;
    }
  }
  // The notes carry MT's starting steps.
  EXPECT_NE(Make("more-thuente-1").notes.find("1e-3, 1e-1, 1e1, 1e3"), std::string::npos);
}

// Analytic gradients against central differences (the problems are double
// inside, so the differences are accurate to ~1e-9 relative with h = 1e-3
// apart from the O(h^2) truncation error).
TEST(TestProblems, GradientsMatchCentralDifferences) {
  const uint64_t seed = TestSeed();
  for (const std::string& name : TestProblemNames()) {
    TestProblem p = Make(name);
    std::vector<std::vector<float>> points = {p.start};
    // Random points near the start and near the minimiser.
    std::vector<float> noise = RandomVector(p.n, seed, -0.1f, 0.1f);
    std::vector<float> near_start = p.start;
    for (int64_t i = 0; i < p.n; ++i) near_start[i] += noise[i];
    points.push_back(near_start);
    if (!p.minimizer.empty()) {
      std::vector<float> near_min(p.minimizer.begin(), p.minimizer.end());
      for (int64_t i = 0; i < p.n; ++i) near_min[i] += 0.5f * noise[i];
      points.push_back(near_min);
    }
    // h = 2^-15 = 3.1e-5: x +- h are float32 points for |x| < 256 (away
    // from a power of two), so their midpoint is x itself, and the
    // truncation error h^2 f''' / 6 is ~1e-10 f'''.
    double step = 0x1.0p-15;
    if (name == "brown-badly-scaled") {
      // The two coordinates differ in scale by 1e12, so one h cannot serve
      // both: see BrownBadlyScaledGradient.
      continue;
    }
    if (name.rfind("more-thuente-", 0) == 0) {
      // Fixed points, smaller h: phi3''' ~ (39 pi / 2)^2 = 3.8e3, and
      // phi4..6 have curvature ~1/beta = 1e3 within beta = 1e-3 of 0 and 1.
      // Away from the jumps of phi3's phi0'' at 0.99 and 1.01.
      points = {{0.0f}, {0.05f}, {0.3f}, {0.7f}, {0.995f}, {1.5f}, {4.0f}};
      step = 0x1.0p-17;
    }
    for (std::vector<float>& x : points) {
      std::vector<float> g(p.n);
      p.objective->ValueAndGradient(x.data(), g.data());
      GradientCheckOptions options;
      options.step = step;
      options.rtol = 2e-5;
      // atol covers the rare x next to a power of two, where x + h rounds
      // and the difference is taken about a point ~1 ulp from x.
      options.atol = 1e-5;
      const GradientCheckResult check = CheckGradient(
          x.data(), p.n, g.data(), [&] { return p.objective->Value(x.data()); }, options);
      EXPECT_TRUE(check.ok) << name << " at point " << (&x - points.data()) << ": " << check.message
                            << " " << SeedNote(seed);
    }
  }
}

// Eigenvalues (ascending) of a symmetric matrix by cyclic Jacobi rotations
// (Golub & Van Loan, sec. 8.5): small, dependency-free, and accurate to
// machine precision relative to the matrix norm.
std::vector<double> SymmetricEigenvalues(std::vector<double> a, int n) {
  for (int sweep = 0; sweep < 50; ++sweep) {
    double off = 0.0;
    for (int p = 0; p < n; ++p) {
      for (int q = p + 1; q < n; ++q) off += a[p * n + q] * a[p * n + q];
    }
    if (off < 1e-30) break;
    for (int p = 0; p < n; ++p) {
      for (int q = p + 1; q < n; ++q) {
        const double apq = a[p * n + q];
        if (apq == 0.0) continue;
        const double tau = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
        const double t = (tau >= 0 ? 1.0 : -1.0) / (std::fabs(tau) + std::sqrt(1.0 + tau * tau));
        const double c = 1.0 / std::sqrt(1.0 + t * t), s = t * c;
        for (int k = 0; k < n; ++k) {  // A <- A J (columns p, q)
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (int k = 0; k < n; ++k) {  // A <- J^T A (rows p, q)
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  std::vector<double> lambda(n);
  for (int i = 0; i < n; ++i) lambda[i] = a[i * n + i];
  std::sort(lambda.begin(), lambda.end());
  return lambda;
}

// Brown badly scaled: f is quadratic in each coordinate, so the central
// difference (f(x + h e_i) - f(x - h e_i)) / 2h is exact up to the rounding
// of f when x +- h e_i are float32 points. Per-coordinate steps make them
// so: h1 = 0.25 (x1 ~ 1e6 has ulp 0.0625), h2 = 2^-32 (x2 ~ 2e-6 has ulp
// 2^-42). Points where f is moderate: at x0, f = 1e12 swamps in double the
// x2 terms of the differences.
TEST(TestProblems, BrownBadlyScaledGradient) {
  TestProblem p = Make("brown-badly-scaled");
  const double h[2] = {0.25, 0x1.0p-32};
  const std::vector<std::vector<float>> points = {
      {1e6f - 3.0f, 2.5e-6f}, {1e6f + 5.0f, 1.5e-6f}, {1e6f, 2e-6f}, {1e6f - 0.5f, 3e-6f}};
  for (std::vector<float> x : points) {
    std::vector<float> g(2);
    p.objective->ValueAndGradient(x.data(), g.data());
    for (int i = 0; i < 2; ++i) {
      const float xi = x[i];
      x[i] = static_cast<float>(xi + h[i]);
      const double plus = p.objective->Value(x.data());
      ASSERT_EQ(static_cast<double>(x[i]) - xi, h[i]);  // exact steps
      x[i] = static_cast<float>(xi - h[i]);
      const double minus = p.objective->Value(x.data());
      x[i] = xi;
      const double numeric = (plus - minus) / (2.0 * h[i]);
      EXPECT_NEAR(g[i], numeric, 1e-6 * std::fabs(numeric) + 1e-6)
          << "coordinate " << i << " at (" << x[0] << ", " << x[1] << ")";
    }
  }
}

// The Hessian of the quadratic, column by column from the gradient at
// c + delta e_j (g(c) = 0 exactly), then its eigenvalues.
std::vector<double> QuadraticEigenvalues(TestProblem& p) {
  const int n = static_cast<int>(p.n);
  std::vector<double> a(n * n);
  std::vector<float> c(p.minimizer.begin(), p.minimizer.end());
  std::vector<float> g(n);
  for (int j = 0; j < n; ++j) {
    std::vector<float> x = c;
    x[j] = c[j] + 0.5f;
    const double delta = static_cast<double>(x[j]) - c[j];
    p.objective->ValueAndGradient(x.data(), g.data());
    for (int i = 0; i < n; ++i) a[i * n + j] = g[i] / delta;
  }
  double asym = 0.0, norm = 0.0;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      asym = std::max(asym, std::fabs(a[i * n + j] - a[j * n + i]));
      norm = std::max(norm, std::fabs(a[i * n + j]));
    }
  }
  EXPECT_LT(asym, 1e-6 * norm);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < i; ++j) a[i * n + j] = a[j * n + i] = 0.5 * (a[i * n + j] + a[j * n + i]);
  }
  return SymmetricEigenvalues(a, n);
}

TEST(TestProblems, QuadraticHasTheRequestedConditionNumber) {
  const uint64_t seed = TestSeed();
  for (double kappa : {1e3, 50.0}) {
    TestProblem p = Make("quadratic", {.n = 12, .condition_number = kappa, .seed = seed});
    const std::vector<double> lambda = QuadraticEigenvalues(p);
    EXPECT_NEAR(lambda[0], 1.0, 1e-3) << SeedNote(seed);
    EXPECT_NEAR(lambda[11] / lambda[0], kappa, 1e-3 * kappa) << SeedNote(seed);
    // Log-spaced: lambda_k = kappa^(k / (n-1)).
    for (int k = 0; k < 12; ++k) {
      EXPECT_NEAR(lambda[k], std::pow(kappa, k / 11.0), 1e-4 * std::pow(kappa, k / 11.0));
    }
    // f(c) = 0 exactly, f(0) > 0.
    EXPECT_EQ(ValueAt(p, p.minimizer), 0.0);
    EXPECT_GT(ValueAt(p, p.start), 0.0);
    for (float v : p.start) EXPECT_EQ(v, 0.0f);
  }
  // The eigenbasis is random: not axis-aligned (some off-diagonal Hessian
  // entry is large), and set by the seed.
  TestProblem a = Make("quadratic", {.seed = seed});
  TestProblem b = Make("quadratic", {.seed = seed});
  TestProblem c = Make("quadratic", {.seed = seed + 1});
  std::vector<float> x = RandomVector(20, seed + 7);
  EXPECT_EQ(ValueAt(a, x), ValueAt(b, x));
  EXPECT_NE(ValueAt(a, x), ValueAt(c, x));
  std::vector<float> e0(20, 0.0f), g(20);
  std::vector<float> cen(a.minimizer.begin(), a.minimizer.end());
  e0 = cen;
  e0[0] += 0.5f;
  a.objective->ValueAndGradient(e0.data(), g.data());
  double off = 0.0;
  for (int i = 1; i < 20; ++i) off = std::max(off, std::fabs(static_cast<double>(g[i])));
  EXPECT_GT(off, 1.0) << SeedNote(seed);
}

TEST(TestProblems, BadNamesAndSizesGiveClearErrors) {
  TestProblem p;
  std::string error;
  EXPECT_FALSE(MakeTestProblem("rosenbrok", {}, &p, &error));
  EXPECT_NE(error.find("unknown test problem 'rosenbrok'"), std::string::npos) << error;
  EXPECT_NE(error.find("extended-rosenbrock"), std::string::npos) << error;
  EXPECT_FALSE(MakeTestProblem("more-thuente-7", {}, &p, &error));
  EXPECT_NE(error.find("unknown"), std::string::npos) << error;

  struct Bad {
    const char* name;
    int64_t n;
    const char* expected;
  };
  const Bad bad[] = {
      {"rosenbrock", 3, "n must be 2"},
      {"extended-rosenbrock", 5, "even"},
      {"powell-singular", 6, "multiple of 4"},
      {"wood", 2, "n must be 4"},
      {"beale", 3, "n must be 2"},
      {"helical-valley", 2, "n must be 3"},
      {"brown-badly-scaled", 4, "n must be 2"},
      {"freudenstein-roth", 1, "n must be 2"},
      {"more-thuente-1", 2, "n must be 1"},
      {"trigonometric", -1, "n must be >= 0"},
  };
  for (const Bad& b : bad) {
    error.clear();
    EXPECT_FALSE(MakeTestProblem(b.name, {.n = b.n}, &p, &error)) << b.name;
    EXPECT_NE(error.find(b.expected), std::string::npos) << b.name << ": " << error;
    EXPECT_NE(error.find(b.name), std::string::npos) << error;
  }
  EXPECT_FALSE(MakeTestProblem("quadratic", {.condition_number = 0.5}, &p, &error));
  EXPECT_NE(error.find("condition_number"), std::string::npos) << error;
  EXPECT_FALSE(MakeTestProblem("quadratic", {.condition_number = NAN}, &p, &error));
  // Allowed non-default sizes.
  EXPECT_TRUE(MakeTestProblem("extended-rosenbrock", {.n = 4}, &p, &error)) << error;
  EXPECT_EQ(p.n, 4);
  EXPECT_TRUE(MakeTestProblem("trigonometric", {.n = 3}, &p, &error)) << error;
  EXPECT_TRUE(MakeTestProblem("broyden-tridiagonal", {.n = 1}, &p, &error)) << error;
  EXPECT_TRUE(MakeTestProblem("rosenbrock", {.n = 2}, &p, &error)) << error;
}

}  // namespace
}  // namespace twophase
