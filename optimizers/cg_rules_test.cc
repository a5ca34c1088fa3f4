// CG's rules on small vectors whose betas, restarts and trial steps were
// computed by hand (the arithmetic is in the comments). The trajectory
// tests in conjugate_gradient_test.cc check the same formulas on whole runs.
#include "optimizers/cg_rules.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace twophase {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double DotOf(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0.0;
  for (size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

// The inputs as Iterate forms them, from g_k, g_{k+1} and d_k.
BetaInputs Inputs(const std::vector<double>& g_old, const std::vector<double>& g,
                  const std::vector<double>& d) {
  BetaInputs in;
  in.gg = DotOf(g, g);
  in.gg_old = DotOf(g_old, g_old);
  in.g_dot_g_old = DotOf(g, g_old);
  in.d_dot_g = DotOf(d, g);
  in.slope = DotOf(d, g_old);
  in.d_norm = std::sqrt(DotOf(d, d));
  in.gradient_norm_old = std::sqrt(in.gg_old);
  return in;
}

struct BetaRow {
  const char* what;
  std::vector<double> g_old, g, d;
  double eta;
  // FR, PR, PR+, HS, DY, HZ; NaN: no usable beta (restart "not-descent").
  double expected[6];
};

const BetaRule kRules[] = {BetaRule::kFletcherReeves,   BetaRule::kPolakRibiere,
                           BetaRule::kPolakRibierePlus, BetaRule::kHestenesStiefel,
                           BetaRule::kDaiYuan,          BetaRule::kHagerZhang};

TEST(CgRulesTest, BetaOfEveryRuleOnHandComputedVectors) {
  const BetaRow rows[] = {
      // g_k = (1,2), g_{k+1} = (3,-1), d_k = (-1,-2): |g|^2 = 10, |g_k|^2 = 5,
      // g.g_k = 1, y = (2,-3), g.y = 9, d.y = -1 + 5 = 4, |y|^2 = 13.
      // FR 10/5, PR 9/5, HS 9/4, DY 10/4; HZ (y - 2 d 13/4).g / 4 =
      // ((2,-3) + (6.5,13)).(3,-1) / 4 = (25.5 - 10) / 4 = 3.875, above
      // eta_k = -1 / (sqrt(5) 0.01).
      {"all positive", {1, 2}, {3, -1}, {-1, -2}, 0.01, {2.0, 1.8, 1.8, 2.25, 2.5, 3.875}},
      // g_k = (1,0), g_{k+1} = (0.5,0.1), d_k = (-1,0): |g|^2 = 0.26,
      // g.y = 0.26 - 0.5 = -0.24; d.y = -0.5 + 1 = 0.5, |y|^2 = 0.26.
      // PR -0.24, clipped to 0 by PR+; HS -0.48, DY 0.52;
      // HZ (-0.24 - 2 0.26 (-0.5) / 0.5) / 0.5 = (-0.24 + 0.52) / 0.5 = 0.56.
      {"PR+ clips", {1, 0}, {0.5, 0.1}, {-1, 0}, 0.01, {0.26, -0.24, 0.0, -0.48, 0.52, 0.56}},
      // g_k = (1,0), g_{k+1} = (-2,0), d_k = (-1,0): g.y = 4 + 2 = 6, d.y = 3,
      // |y|^2 = 9, d.g = 2: HZ's beta^N = (6 - 2 9 2 / 3) / 3 = -2;
      // eta_k = -1 / (1 min(eta, 1)): -100 with eta 0.01 (not active), -1
      // with eta 10 (active: beta = -1).
      {"HZ unbounded", {1, 0}, {-2, 0}, {-1, 0}, 0.01, {4.0, 6.0, 6.0, 2.0, 4.0 / 3.0, -2.0}},
      {"HZ bounded", {1, 0}, {-2, 0}, {-1, 0}, 10.0, {4.0, 6.0, 6.0, 2.0, 4.0 / 3.0, -1.0}},
      // d.y = 0: g_k = (1,0), g_{k+1} = (1,1), d_k = (-1,0): d.g = -1 = slope.
      // FR 2, PR (2 - 1) / 1 = 1; the rules dividing by d.y restart.
      {"zero d.y", {1, 0}, {1, 1}, {-1, 0}, 0.01, {2.0, 1.0, 1.0, kNaN, kNaN, kNaN}},
      // d.y < 0 (a golden-section step past the minimum): g_{k+1} = (2,0),
      // d.g = -2 < slope -1. HS = (4-2)/(-1) would be finite but is refused.
      {"negative d.y", {1, 0}, {2, 0}, {-1, 0}, 0.01, {4.0, 2.0, 2.0, kNaN, kNaN, kNaN}},
      // |g_k| = 0: FR, PR and PR+ divide by zero (inf): restart. d_k = (-1,0)
      // is not -g_k here, so d.y = 1 - 0 > 0 and HS = 1, DY = 1; HZ's
      // eta_k = -1 / (1 min(0.01, 0)) = -inf does not bound it:
      // (1 - 2 1 1 / 1) / 1 = -1.
      {"zero g_k", {0, 0}, {-1, 0}, {-1, 0}, 0.01, {kNaN, kNaN, kNaN, 1.0, 1.0, -1.0}},
      // Everything zero: 0/0 is NaN, but PR+'s max(0, NaN) is 0 (std::max
      // keeps its first argument when the comparison is false). Iterate
      // stops at |g| = 0 before it asks.
      {"all zero", {0, 0}, {0, 0}, {0, 0}, 0.01, {kNaN, kNaN, 0.0, kNaN, kNaN, kNaN}},
  };
  for (const BetaRow& row : rows) {
    const BetaInputs in = Inputs(row.g_old, row.g, row.d);
    for (int k = 0; k < 6; ++k) {
      SCOPED_TRACE(std::string(row.what) + ", " + BetaRuleName(kRules[k]));
      const std::optional<double> beta = ComputeBeta(kRules[k], in, row.eta);
      if (std::isnan(row.expected[k])) {
        EXPECT_FALSE(beta.has_value()) << *beta;
      } else {
        ASSERT_TRUE(beta.has_value());
        EXPECT_NEAR(*beta, row.expected[k], 1e-12);
      }
    }
  }
}

TEST(CgRulesTest, OnlyHagerZhangReadsTheNorms) {
  // Iterate fills d_norm and gradient_norm_old for HZ only; the other rules
  // must not depend on them.
  BetaInputs in = Inputs({1, 2}, {3, -1}, {-1, -2});
  in.d_norm = kNaN;
  in.gradient_norm_old = kNaN;
  const double expected[] = {2.0, 1.8, 1.8, 2.25, 2.5};
  for (int k = 0; k < 5; ++k) {
    const std::optional<double> beta = ComputeBeta(kRules[k], in, 0.01);
    ASSERT_TRUE(beta.has_value()) << BetaRuleName(kRules[k]);
    EXPECT_NEAR(*beta, expected[k], 1e-12) << BetaRuleName(kRules[k]);
  }
}

TEST(CgRulesTest, PeriodicRestart) {
  const struct {
    int64_t since, every, n;
    bool due;
  } rows[] = {
      {4, 5, 100, false}, {5, 5, 100, true}, {6, 5, 100, true},  // every 5
      {9, 0, 10, false},  {10, 0, 10, true},                     // 0: every n
      {1, 1, 10, true},                                          // every iteration
  };
  for (const auto& r : rows) {
    EXPECT_EQ(PeriodicRestartDue(r.since, r.every, r.n), r.due)
        << r.since << " since, every " << r.every << ", n " << r.n;
  }
}

TEST(CgRulesTest, PowellRestart) {
  const struct {
    double g_dot_g_old, gg, threshold;
    bool due;
  } rows[] = {
      {0.19, 1.0, 0.2, false},  // nearly orthogonal: keep conjugacy
      {0.2, 1.0, 0.2, true},    // the boundary counts (>=)
      {-0.5, 1.0, 0.2, true},   // |g.g_k|: the sign does not matter
      {0.5, 0.26, 0.2, true},   // the "PR+ clips" row above: 0.5 >= 0.052
      {0.5, 1.0, 0.0, false},   // threshold 0 disables the test
      {0.5, 1.0, -1.0, false},  // so does a negative one
      {0.0, 0.0, 0.2, true},    // g = 0: 0 >= 0 (Iterate stops before this)
      {kNaN, 1.0, 0.2, false},  // NaN compares false
  };
  for (const auto& r : rows) {
    EXPECT_EQ(PowellRestartDue(r.g_dot_g_old, r.gg, r.threshold), r.due)
        << r.g_dot_g_old << " vs " << r.threshold << " x " << r.gg;
  }
}

TEST(CgRulesTest, InitialTrialStep) {
  TrialStepInputs in;
  in.first_step = 0.5;
  in.previous_step = 0.1;
  in.previous_slope = -4.0;
  in.slope = -2.0;
  in.value = 1.0;
  in.previous_value = 1.5;
  // (3.60): 0.1 (-4) / (-2) = 0.2; (3.60a): min(1, 1.01 2 (1 - 1.5) / (-2)) = 0.505.
  const struct {
    const char* what;
    InitialStepRule rule;
    bool fresh;
    double previous_step, value;
    double expected;
  } rows[] = {
      {"fresh: the first step", InitialStepRule::kPreviousStep, true, 0.1, 1.0, 0.5},
      {"fresh, quadratic", InitialStepRule::kQuadraticInterpolation, true, 0.1, 1.0, 0.5},
      {"(3.60)", InitialStepRule::kPreviousStep, false, 0.1, 1.0, 0.2},
      {"QuadStep starts from (3.60)", InitialStepRule::kQuadStep, false, 0.1, 1.0, 0.2},
      {"(3.60a)", InitialStepRule::kQuadraticInterpolation, false, 0.1, 1.0, 0.505},
      // A rejected previous step (0): (3.60) gives 0, the first step instead.
      {"(3.60) zero", InitialStepRule::kPreviousStep, false, 0.0, 1.0, 0.5},
      // f rose (1.5 -> 2): (3.60a) is negative, (3.60) stays.
      {"(3.60a) negative", InitialStepRule::kQuadraticInterpolation, false, 0.1, 2.0, 0.2},
      // A large decrease: (3.60a) is capped at 1.
      {"(3.60a) capped", InitialStepRule::kQuadraticInterpolation, false, 0.1, -100.0, 1.0},
  };
  for (const auto& r : rows) {
    TrialStepInputs row = in;
    row.fresh = r.fresh;
    row.previous_step = r.previous_step;
    row.value = r.value;
    EXPECT_NEAR(InitialTrialStep(r.rule, row), r.expected, 1e-15) << r.what;
  }
}

TEST(CgRulesTest, QuadStepTrial) {
  // f_k = 1, slope -2, t = 0.5: c = (f_t - 1 + 1) / 0.25 = 4 f_t.
  const struct {
    const char* what;
    double f_t, expected;
  } rows[] = {
      {"convex: -slope / 2c = 2 / (8 f_t)", 0.25, 1.0},  // c = 1
      {"convex, steep", 1.0, 0.25},                      // c = 4
      {"linear (c = 0): 2 t", 0.0, 1.0},
      {"concave (c < 0): 2 t", -0.5, 1.0},
      {"NaN probe: t", kNaN, 0.5},
      {"infinite probe: t", kInf, 0.5},
  };
  for (const auto& r : rows) {
    EXPECT_DOUBLE_EQ(QuadStepTrial(0.5, r.f_t, 1.0, -2.0), r.expected) << r.what;
  }
}

}  // namespace
}  // namespace twophase
