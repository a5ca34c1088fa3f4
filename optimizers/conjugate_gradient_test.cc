#include "optimizers/conjugate_gradient.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/test_seed.h"
#include "optimizers/line_search.h"
#include "optimizers/objective.h"
#include "optimizers/test_problems.h"

namespace twophase {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool AllFinite(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

// f(x) = 1/2 x'Ax with A = Q diag(lambda) Q' (Q a random orthogonal matrix),
// computed in double from the float32 point. The minimiser is x* = 0, so the
// float32 rounding of x stays relative to |x| all the way down, and the exact
// step along d is alpha* = -g'd / d'Ad.
class Quadratic : public Objective {
 public:
  Quadratic(const std::vector<double>& eigenvalues, uint64_t seed)
      : n_(static_cast<int64_t>(eigenvalues.size())), a_(n_ * n_, 0.0) {
    // Q from Gram-Schmidt on a Gaussian matrix.
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    std::vector<double> q(n_ * n_);
    for (double& v : q) v = normal(rng);
    for (int64_t j = 0; j < n_; ++j) {
      for (int64_t k = 0; k < j; ++k) {
        double dot = 0.0;
        for (int64_t i = 0; i < n_; ++i) dot += q[i * n_ + j] * q[i * n_ + k];
        for (int64_t i = 0; i < n_; ++i) q[i * n_ + j] -= dot * q[i * n_ + k];
      }
      double norm = 0.0;
      for (int64_t i = 0; i < n_; ++i) norm += q[i * n_ + j] * q[i * n_ + j];
      norm = std::sqrt(norm);
      for (int64_t i = 0; i < n_; ++i) q[i * n_ + j] /= norm;
    }
    for (int64_t i = 0; i < n_; ++i) {
      for (int64_t j = 0; j < n_; ++j) {
        double s = 0.0;
        for (int64_t k = 0; k < n_; ++k) s += q[i * n_ + k] * eigenvalues[k] * q[j * n_ + k];
        a_[i * n_ + j] = s;
      }
    }
  }
  int64_t size() const override { return n_; }
  std::string name() const override { return "test-quadratic"; }
  // d'Ad, for the exact step.
  double Curvature(const std::vector<float>& d) const {
    double s = 0.0;
    for (int64_t i = 0; i < n_; ++i) {
      for (int64_t j = 0; j < n_; ++j) s += d[i] * a_[i * n_ + j] * d[j];
    }
    return s;
  }

 protected:
  double DoValue(const float* x) override {
    std::vector<float> g(n_);
    return DoValueAndGradient(x, g.data());
  }
  double DoValueAndGradient(const float* x, float* g) override {
    double f = 0.0;
    for (int64_t i = 0; i < n_; ++i) {
      double ax = 0.0;
      for (int64_t j = 0; j < n_; ++j) ax += a_[i * n_ + j] * x[j];
      g[i] = static_cast<float>(ax);
      f += 0.5 * x[i] * ax;
    }
    return f;
  }

 private:
  int64_t n_;
  std::vector<double> a_;
};

// Rosenbrock (More, Garbow & Hillstrom 1981, problem 1), written here so the
// tests below do not depend on the problem library.
class Rosenbrock : public Objective {
 public:
  int64_t size() const override { return 2; }
  std::string name() const override { return "test-rosenbrock"; }

 protected:
  double DoValue(const float* x) override {
    float g[2];
    return DoValueAndGradient(x, g);
  }
  double DoValueAndGradient(const float* x, float* g) override {
    const double x0 = x[0], x1 = x[1];
    const double r = x1 - x0 * x0;
    g[0] = static_cast<float>(-400.0 * x0 * r - 2.0 * (1.0 - x0));
    g[1] = static_cast<float>(200.0 * r);
    return 100.0 * r * r + (1.0 - x0) * (1.0 - x0);
  }
};

// Wraps an objective; `poison(x, evaluation)` decides whether this
// evaluation (0-based, value and gradient calls together) returns NaN for f
// (and the gradient), or only for the gradient's first entry.
class Poisoned : public Objective {
 public:
  enum class What { kValueAndGradient, kGradientOnly, kInfinity };
  Poisoned(Objective* inner, std::function<bool(const float*, int64_t)> poison,
           What what = What::kValueAndGradient)
      : inner_(inner), poison_(std::move(poison)), what_(what) {}
  int64_t size() const override { return inner_->size(); }
  std::string name() const override { return "poisoned-" + inner_->name(); }
  int64_t poisoned() const { return poisoned_; }

 protected:
  double DoValue(const float* x) override {
    const bool bad = poison_(x, evaluation_++);
    const double f = inner_->Value(x);
    if (bad && what_ != What::kGradientOnly) {
      ++poisoned_;
      return what_ == What::kInfinity ? std::numeric_limits<double>::infinity() : kNaN;
    }
    return f;
  }
  double DoValueAndGradient(const float* x, float* g) override {
    const bool bad = poison_(x, evaluation_++);
    const double f = inner_->ValueAndGradient(x, g);
    if (!bad) return f;
    ++poisoned_;
    switch (what_) {
      case What::kValueAndGradient:
        for (int64_t i = 0; i < size(); ++i) g[i] = static_cast<float>(kNaN);
        return kNaN;
      case What::kGradientOnly:
        g[0] = static_cast<float>(kNaN);
        return f;
      case What::kInfinity:
        return std::numeric_limits<double>::infinity();
    }
    return f;
  }

 private:
  Objective* inner_;
  std::function<bool(const float*, int64_t)> poison_;
  What what_;
  int64_t evaluation_ = 0;
  int64_t poisoned_ = 0;
};

std::vector<BetaRule> AllBetaRules() {
  return {BetaRule::kFletcherReeves,  BetaRule::kPolakRibiere, BetaRule::kPolakRibierePlus,
          BetaRule::kHestenesStiefel, BetaRule::kDaiYuan,      BetaRule::kHagerZhang};
}

// A near-exact line search on the quadratic: the strong Wolfe search with
// c2 = 1e-4 accepts only |phi'(alpha)| <= 1e-4 |phi'(0)|. On a quadratic
// phi is a parabola, so the search's cubic interpolation from (0, phi(0),
// phi'(0)) and any bracketing trial lands on alpha* up to rounding; the test
// below also checks every accepted step against alpha* = -g'd / d'Ad.
ConjugateGradientOptions ExactSearchOptions(BetaRule beta) {
  ConjugateGradientOptions options;
  options.beta = beta;
  options.line_search.kind = LineSearchKind::kStrongWolfe;
  options.line_search.c1 = 1e-6;
  options.line_search.c2 = 1e-4;
  options.powell_restart_threshold = 0.0;  // no restarts: pure linear CG
  options.restart_every = 1000;
  options.function_tolerance = 0.0;
  return options;
}

// Reproduces the solver's directions from its records, as it forms them:
// d_0 = -g_0, then d = -g + beta d in float32 (beta = 0 on a restart).
void NextDirection(const CgIterationRecord& record, const std::vector<float>& g,
                   std::vector<float>* d) {
  for (size_t i = 0; i < g.size(); ++i) {
    (*d)[i] = record.restarted ? -g[i] : static_cast<float>(-g[i] + record.beta * (*d)[i]);
  }
}

// An equally spaced spectrum, condition 8. CG in float32 is not exact: a
// geometric spectrum (1, 2, 4, 8, 16) or one with close eigenvalues leaves
// |g_n| up to 1e-3 |g_0| for some random starts (the Krylov basis is
// ill-conditioned and float32 rounding of x, g and d, ~6e-8, is amplified);
// with 1..8 the worst of 200 seeds x 6 rules measured 1.1e-6 |g_0|.
const std::vector<double> kEqualSpacing = {1, 2, 3, 4, 5, 6, 7, 8};

TEST(ConjugateGradientTest, QuadraticWithExactSearchTerminatesInAtMostNIterations) {
  const uint64_t seed = TestSeed();
  const std::vector<double>& eigenvalues = kEqualSpacing;
  const int64_t n = static_cast<int64_t>(eigenvalues.size());
  std::mt19937_64 rng(seed + 1);
  std::normal_distribution<float> normal;
  std::vector<float> x0(n);
  for (float& v : x0) v = normal(rng);

  for (BetaRule beta : AllBetaRules()) {
    SCOPED_TRACE(BetaRuleName(beta) + ", " + SeedNote(seed));
    Quadratic f(eigenvalues, seed);
    std::vector<float> g(n);
    f.ValueAndGradient(x0.data(), g.data());
    const double g0 = Norm(g.data(), n);
    // In exact arithmetic g_n = 0; in float32 the worst measured was
    // 1.1e-6 |g_0| (see kEqualSpacing), so 1e-5 |g_0| leaves a margin of 9.
    // Steepest descent with exact steps reaches only 1e-3 .. 1e-1 |g_0| in
    // n steps (control test below), and a wrong beta formula breaks the
    // conjugacy the same way.
    ConjugateGradientOptions options = ExactSearchOptions(beta);
    options.gradient_tolerance = 1e-5 * g0;
    options.max_iterations = 3 * n;
    ConjugateGradient cg(options);
    cg.Begin(&f, x0.data());
    std::vector<float> d(n);
    for (int64_t i = 0; i < n; ++i) d[i] = -cg.gradient()[i];
    while (cg.summary().termination == TerminationType::kNotTerminated) {
      g = cg.gradient();
      const double exact = -Dot(g.data(), d.data(), n) / f.Curvature(d);
      const CgIterationRecord r = cg.Iterate();
      EXPECT_EQ(r.line_search_status, LineSearchStatus::kSuccess) << "iteration " << r.iteration;
      // The search is exact to the float32 level: alpha within 1e-4 of
      // alpha* (the c2 = 1e-4 curvature test bounds the relative error by
      // ~1e-4 on a parabola; measured ~1e-7).
      EXPECT_NEAR(r.step, exact, 1e-4 * exact) << "iteration " << r.iteration;
      EXPECT_FALSE(r.restarted) << CgRestartName(r.restart_reason);
      NextDirection(r, cg.gradient(), &d);
    }
    const ConjugateGradientSummary& s = cg.summary();
    EXPECT_EQ(s.termination, TerminationType::kGradientTolerance) << s.message;
    EXPECT_LE(s.iterations, n);
    EXPECT_LE(s.final_gradient_norm, 1e-5 * g0) << s.message;
  }
}

TEST(ConjugateGradientTest, SteepestDescentDoesNotTerminateInNIterations) {
  // The control for the test above: the same quadratic and start with a
  // restart every iteration (steepest descent with exact steps) is far from
  // solved after n iterations -- |g_n| >= 1e-3 |g_0| over 200 seeds -- so the
  // n-step bound really tests conjugacy.
  const uint64_t seed = TestSeed();
  const std::vector<double>& eigenvalues = kEqualSpacing;
  const int64_t n = static_cast<int64_t>(eigenvalues.size());
  Quadratic f(eigenvalues, seed);
  std::mt19937_64 rng(seed + 1);
  std::normal_distribution<float> normal;
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  std::vector<float> g(n);
  f.ValueAndGradient(x.data(), g.data());
  const double g0 = Norm(g.data(), n);
  ConjugateGradientOptions options = ExactSearchOptions(BetaRule::kFletcherReeves);
  options.restart_every = 1;
  options.max_iterations = n;
  const ConjugateGradientSummary s = ConjugateGradient(options).Minimize(&f, x.data());
  EXPECT_EQ(s.termination, TerminationType::kMaxIterations) << SeedNote(seed);
  EXPECT_GT(s.final_gradient_norm, 1e-4 * g0) << SeedNote(seed);
  EXPECT_EQ(s.restarts, s.iterations - 1);  // the last iteration terminates instead
}

TEST(ConjugateGradientTest, BetaRulesCoincideOnQuadraticWithExactSearch) {
  // With exact steps, g_{k+1}.g_k = 0 and g_{k+1}.d_k = 0 on a quadratic, so
  // FR = PR = HS = DY (and the iterates are those of linear CG). Compare the
  // beta sequences and the values; they agree to the search's inexactness
  // (~1e-4) plus float32 rounding, so 1e-2 relative on beta and 1e-3 on the
  // value reduction would still catch a wrong formula (e.g. FR's beta is
  // ~|g_{k+1}|^2/|g_k|^2, which differs from PR's by g_{k+1}.g_k/|g_k|^2,
  // O(1) for an inexact search).
  const uint64_t seed = TestSeed();
  const std::vector<double>& eigenvalues = kEqualSpacing;
  std::vector<std::vector<CgIterationRecord>> runs;
  for (BetaRule beta : {BetaRule::kFletcherReeves, BetaRule::kPolakRibiere,
                        BetaRule::kHestenesStiefel, BetaRule::kDaiYuan}) {
    Quadratic f(eigenvalues, seed);
    std::vector<float> x = {1.0f, -2.0f, 0.5f, 3.0f, -1.0f, 2.0f, -0.7f, 1.4f};
    ConjugateGradientOptions options = ExactSearchOptions(beta);
    options.max_iterations = static_cast<int64_t>(eigenvalues.size()) - 1;
    runs.push_back(ConjugateGradient(options).Minimize(&f, x.data()).records);
  }
  const std::vector<CgIterationRecord>& fr = runs[0];
  ASSERT_EQ(fr.size(), eigenvalues.size() - 1);
  for (size_t rule = 1; rule < runs.size(); ++rule) {
    ASSERT_EQ(runs[rule].size(), fr.size()) << "rule " << rule;
    for (size_t k = 0; k < fr.size(); ++k) {
      SCOPED_TRACE("rule " + std::to_string(rule) + ", iteration " + std::to_string(k + 1) + ", " +
                   SeedNote(seed));
      EXPECT_NEAR(runs[rule][k].value, fr[k].value, 1e-3 * fr[k].value + 1e-9);
      // The last record's beta is for a direction that is never used once the
      // gradient is at the rounding floor; compare the earlier ones.
      if (k + 1 < fr.size() - 1) {
        EXPECT_NEAR(runs[rule][k].beta, fr[k].beta, 1e-2 * std::abs(fr[k].beta));
      }
    }
  }
}

TEST(ConjugateGradientTest, StartAtTheMinimumEndsAtOnceWithZeroIterations) {
  Rosenbrock f;
  std::vector<float> x = {1.0f, 1.0f};
  const ConjugateGradientSummary s = ConjugateGradient({}).Minimize(&f, x.data());
  EXPECT_EQ(s.termination, TerminationType::kGradientTolerance);
  EXPECT_TRUE(s.converged());
  EXPECT_EQ(s.iterations, 0);
  EXPECT_EQ(s.gradient_evaluations, 1);
  EXPECT_EQ(x[0], 1.0f);
  EXPECT_EQ(x[1], 1.0f);
}

TEST(ConjugateGradientTest, NonFiniteStartIsReportedAndXIsUntouched) {
  Rosenbrock inner;
  for (Poisoned::What what : {Poisoned::What::kValueAndGradient, Poisoned::What::kGradientOnly,
                              Poisoned::What::kInfinity}) {
    Poisoned f(
        &inner, [](const float*, int64_t) { return true; }, what);
    std::vector<float> x = {-1.2f, 1.0f};
    const ConjugateGradientSummary s = ConjugateGradient({}).Minimize(&f, x.data());
    EXPECT_EQ(s.termination, TerminationType::kNonFinite);
    EXPECT_FALSE(s.converged());
    EXPECT_EQ(s.iterations, 0);
    EXPECT_NE(s.message.find("not finite at the start point"), std::string::npos) << s.message;
    EXPECT_EQ(x[0], -1.2f);
    EXPECT_EQ(x[1], 1.0f);
  }
}

TEST(ConjugateGradientTest, NaNFarAlongTheDirectionNeverReachesX) {
  // f is NaN outside the box |x_i| <= 2 (the Rosenbrock valley from the
  // standard start (-1.2, 1) to (1, 1) lies inside it), and the first trial
  // step is 100 along -g, far outside: the searches must back off from NaN
  // probes and still converge.
  Rosenbrock inner;
  for (LineSearchKind kind :
       {LineSearchKind::kStrongWolfe, LineSearchKind::kHagerZhang, LineSearchKind::kGolden}) {
    SCOPED_TRACE(LineSearchKindName(kind));
    Poisoned f(&inner, [](const float* x, int64_t) {
      return std::abs(x[0]) > 2.0f || std::abs(x[1]) > 2.0f;
    });
    ConjugateGradientOptions options;
    options.line_search.kind = kind;
    options.first_step_length = 100.0;
    options.gradient_tolerance = 1e-4;
    ConjugateGradient cg(options);
    std::vector<float> x = {-1.2f, 1.0f};
    cg.Begin(&f, x.data());
    while (cg.summary().termination == TerminationType::kNotTerminated) {
      cg.Iterate();
      ASSERT_TRUE(AllFinite(cg.x())) << "iteration " << cg.summary().iterations;
      ASSERT_TRUE(std::isfinite(cg.value()));
      ASSERT_TRUE(AllFinite(cg.gradient()));
    }
    EXPECT_GT(f.poisoned(), 0) << "the test did not probe the NaN region";
    const ConjugateGradientSummary& s = cg.summary();
    // Rosenbrock's minimum f = 0 at (1, 1). |g| <= 1e-4 along the valley
    // (Hessian eigenvalue ~0.4 at x*) allows |x - x*| ~ 2.5e-4 and
    // f ~ 0.2 (2.5e-4)^2 ~ 1.3e-8 (measured up to 1.1e-8).
    EXPECT_LT(s.final_value, 1e-7) << TerminationTypeName(s.termination) << ": " << s.message;
    EXPECT_NEAR(cg.x()[0], 1.0f, 1e-3);
    EXPECT_NEAR(cg.x()[1], 1.0f, 2e-3);
  }
}

TEST(ConjugateGradientTest, ObjectiveTurningNaNEndsCleanlyAtTheLastGoodPoint) {
  // After 6 evaluations every f (or only a gradient entry, or f = Inf) is
  // bad. Each search then fails without a finite point; the first failure
  // restarts along -g, the second ends the run with kLineSearchFailure and x
  // at the last accepted point.
  for (Poisoned::What what : {Poisoned::What::kValueAndGradient, Poisoned::What::kGradientOnly,
                              Poisoned::What::kInfinity}) {
    SCOPED_TRACE(static_cast<int>(what));
    Rosenbrock inner;
    Poisoned f(
        &inner, [](const float*, int64_t evaluation) { return evaluation >= 6; }, what);
    ConjugateGradient cg({});
    std::vector<float> x = {-1.2f, 1.0f};
    cg.Begin(&f, x.data());
    std::vector<float> last_x = cg.x();
    double last_value = cg.value();
    while (cg.summary().termination == TerminationType::kNotTerminated) {
      const CgIterationRecord r = cg.Iterate();
      ASSERT_TRUE(AllFinite(cg.x()));
      // The last accepted point: a search that fails once the poison
      // starts mid-search (QuadStep's value probe shifts the count) still
      // returns its best finite point, and x moves there.
      if (r.step > 0) {
        last_x = cg.x();
        last_value = cg.value();
      }
    }
    const ConjugateGradientSummary& s = cg.summary();
    EXPECT_EQ(s.termination, TerminationType::kLineSearchFailure) << s.message;
    EXPECT_FALSE(s.converged());
    EXPECT_EQ(s.line_search_failures, 2);
    EXPECT_NE(s.message.find("two consecutive line searches failed"), std::string::npos)
        << s.message;
    EXPECT_NE(s.message.find("non-finite"), std::string::npos) << s.message;
    EXPECT_EQ(cg.x(), last_x);
    EXPECT_EQ(s.final_value, last_value);
    // The reported value is f at the returned x, recomputed independently.
    Rosenbrock clean;
    EXPECT_EQ(clean.Value(cg.x().data()), s.final_value);
    // Minimize copies out the same point.
    Rosenbrock inner2;
    Poisoned f2(
        &inner2, [](const float*, int64_t evaluation) { return evaluation >= 6; }, what);
    std::vector<float> x2 = {-1.2f, 1.0f};
    ConjugateGradient({}).Minimize(&f2, x2.data());
    EXPECT_EQ(x2, last_x);
  }
}

TEST(ConjugateGradientTest, AFailedSearchRestartsAlongMinusGradient) {
  // f is NaN for every evaluation of iteration 5 only: that search fails
  // (nothing finite found), the record says so, x stays put, the next
  // direction is -g -- and the run then goes on to converge, since one
  // failure is not two in a row.
  Rosenbrock inner;
  bool poison = false;
  Poisoned f(&inner, [&poison](const float*, int64_t) { return poison; });
  ConjugateGradient cg({});
  std::vector<float> x = {-1.2f, 1.0f}, restart_gradient;
  bool moved_along_minus_g = false;
  cg.Begin(&f, x.data());
  while (cg.summary().termination == TerminationType::kNotTerminated) {
    const std::vector<float> before = cg.x();
    poison = cg.summary().iterations == 4;
    const CgIterationRecord r = cg.Iterate();
    poison = false;
    ASSERT_TRUE(AllFinite(cg.x()));
    if (r.iteration == 5) {
      EXPECT_NE(r.line_search_status, LineSearchStatus::kSuccess);
      EXPECT_TRUE(r.restarted);
      EXPECT_EQ(r.restart_reason, CgRestart::kLineSearchFailure);
      EXPECT_EQ(r.beta, 0.0);
      EXPECT_EQ(r.step, 0.0);
      EXPECT_EQ(cg.x(), before);
      EXPECT_EQ(cg.summary().termination, TerminationType::kNotTerminated);
      restart_gradient = cg.gradient();
    }
    if (r.iteration == 6 && r.step > 0) {
      // Iteration 6 moved along d = -g_5: x_6 = x_5 - alpha g_5.
      std::vector<float> minus_g(2), expected(2);
      for (int i = 0; i < 2; ++i) minus_g[i] = -restart_gradient[i];
      AxpyInto(before.data(), r.step, minus_g.data(), expected.data(), 2);
      EXPECT_EQ(cg.x(), expected);
      moved_along_minus_g = true;
    }
  }
  EXPECT_TRUE(moved_along_minus_g);
  EXPECT_GT(f.poisoned(), 0);
  EXPECT_GE(cg.summary().line_search_failures, 1);
  EXPECT_GT(cg.summary().iterations, 10);
  EXPECT_LT(cg.summary().final_value, 1e-8) << cg.summary().message;
}

TEST(ConjugateGradientTest, CountsMatchTheObjectiveAndTheRecords) {
  Rosenbrock f;
  std::vector<float> x = {-1.2f, 1.0f};
  for (LineSearchKind kind :
       {LineSearchKind::kStrongWolfe, LineSearchKind::kHagerZhang, LineSearchKind::kGolden}) {
    SCOPED_TRACE(LineSearchKindName(kind));
    f.ResetCounts();
    x = {-1.2f, 1.0f};
    ConjugateGradientOptions options;
    options.line_search.kind = kind;
    const ConjugateGradientSummary s = ConjugateGradient(options).Minimize(&f, x.data());
    EXPECT_EQ(s.value_evaluations, f.counts().values);
    EXPECT_EQ(s.gradient_evaluations, f.counts().gradients);
    int64_t values = 0, gradients = 1;  // Begin's
    double seconds = 0.0;
    for (const CgIterationRecord& r : s.records) {
      values += r.value_evaluations;
      gradients += r.gradient_evaluations;
      seconds += r.seconds;
    }
    EXPECT_EQ(values, s.value_evaluations);
    EXPECT_EQ(gradients, s.gradient_evaluations);
    EXPECT_EQ(static_cast<int64_t>(s.records.size()), s.iterations);
    EXPECT_LE(seconds, s.total_seconds);
    EXPECT_LE(s.line_search_seconds, s.total_seconds);
    if (kind == LineSearchKind::kGolden) {
      EXPECT_GT(s.value_evaluations, 0);
    }
    // Converged, or ended by searches failing at the float32 floor.
    EXPECT_TRUE(s.converged() || s.termination == TerminationType::kLineSearchFailure)
        << TerminationTypeName(s.termination) << ": " << s.message;
    EXPECT_LT(s.final_value, 1e-8) << s.message;
  }
}

TEST(ConjugateGradientTest, IterationAndEvaluationLimits) {
  Rosenbrock f;
  std::vector<float> x = {-1.2f, 1.0f};
  ConjugateGradientOptions options;
  options.max_iterations = 3;
  ConjugateGradientSummary s = ConjugateGradient(options).Minimize(&f, x.data());
  EXPECT_EQ(s.termination, TerminationType::kMaxIterations);
  EXPECT_EQ(s.iterations, 3);
  EXPECT_NE(s.message.find("max_iterations 3"), std::string::npos) << s.message;

  for (int64_t limit : {2, 5, 11}) {
    SCOPED_TRACE(limit);
    x = {-1.2f, 1.0f};
    options = ConjugateGradientOptions{};
    options.max_evaluations = limit;
    s = ConjugateGradient(options).Minimize(&f, x.data());
    EXPECT_EQ(s.termination, TerminationType::kMaxEvaluations) << s.message;
    EXPECT_EQ(s.value_evaluations + s.gradient_evaluations, limit);
    EXPECT_TRUE(AllFinite(x));
  }
}

TEST(ConjugateGradientTest, PeriodicAndPowellRestarts) {
  const std::vector<double> eigenvalues = {1.0, 3.0, 10.0, 30.0, 100.0};
  // Every 2 iterations: records 2, 4, ... restart ("periodic") unless a
  // Powell restart came first.
  {
    Quadratic f(eigenvalues, TestSeed());
    std::vector<float> x(eigenvalues.size(), 1.0f);
    ConjugateGradientOptions options;
    options.restart_every = 2;
    options.powell_restart_threshold = 0.0;
    const ConjugateGradientSummary s = ConjugateGradient(options).Minimize(&f, x.data());
    int64_t since = 0;
    for (const CgIterationRecord& r : s.records) {
      if (r.iteration == s.iterations) break;  // the terminating one
      ++since;
      EXPECT_EQ(r.restarted, since == 2) << "iteration " << r.iteration;
      if (r.restarted) {
        EXPECT_EQ(r.restart_reason, CgRestart::kPeriodic);
        EXPECT_EQ(r.beta, 0.0);
        since = 0;
      }
    }
    EXPECT_GT(s.restarts, 0);
  }
  // restart_every = 0 means n: on Rosenbrock (n = 2) every second iteration
  // at the latest.
  {
    Rosenbrock f;
    std::vector<float> x = {-1.2f, 1.0f};
    ConjugateGradientOptions options;
    options.powell_restart_threshold = 0.0;
    const ConjugateGradientSummary s = ConjugateGradient(options).Minimize(&f, x.data());
    int64_t since = 0;
    for (const CgIterationRecord& r : s.records) {
      since = r.restarted ? 0 : since + 1;
      EXPECT_LT(since, 2) << "iteration " << r.iteration;
    }
  }
  // Powell's test: with a threshold of 1e-9 every inexact step restarts
  // (|g_{k+1}.g_k| is never that small), with 0.2 on a well-conditioned
  // quadratic with near-exact steps almost never.
  {
    Rosenbrock f;
    std::vector<float> x = {-1.2f, 1.0f};
    ConjugateGradientOptions options;
    options.restart_every = 1000;
    options.powell_restart_threshold = 1e-9;
    const ConjugateGradientSummary s = ConjugateGradient(options).Minimize(&f, x.data());
    int powell = 0;
    for (const CgIterationRecord& r : s.records) powell += r.restart_reason == CgRestart::kPowell;
    EXPECT_GE(powell, s.iterations - 2);
  }
}

TEST(ConjugateGradientTest, StepwiseEqualsMinimize) {
  Rosenbrock f1, f2;
  std::vector<float> x1 = {-1.2f, 1.0f};
  const ConjugateGradientSummary s1 = ConjugateGradient({}).Minimize(&f1, x1.data());
  ConjugateGradient cg({});
  const std::vector<float> x2 = {-1.2f, 1.0f};
  cg.Begin(&f2, x2.data());
  int64_t iterations = 0;
  while (cg.summary().termination == TerminationType::kNotTerminated) {
    cg.Iterate();
    ++iterations;
  }
  // After termination Iterate does nothing.
  const CgIterationRecord after = cg.Iterate();
  EXPECT_EQ(after.iteration, 0);
  EXPECT_EQ(cg.summary().iterations, iterations);
  EXPECT_EQ(cg.x(), x1);
  EXPECT_EQ(cg.summary().iterations, s1.iterations);
  EXPECT_EQ(cg.summary().final_value, s1.final_value);
  EXPECT_EQ(cg.summary().termination, s1.termination);
}

TEST(ConjugateGradientTest, OptionsValidationNamesTheConstraint) {
  std::string error;
  EXPECT_TRUE(ConjugateGradientOptions{}.IsValid(&error)) << error;
  struct Case {
    std::function<void(ConjugateGradientOptions*)> change;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {[](ConjugateGradientOptions* o) { o->first_step_length = 0; }, "first_step_length"},
      {[](ConjugateGradientOptions* o) { o->first_step_length = kNaN; }, "first_step_length"},
      {[](ConjugateGradientOptions* o) { o->restart_every = -1; }, "restart_every"},
      {[](ConjugateGradientOptions* o) { o->powell_restart_threshold = kNaN; },
       "powell_restart_threshold"},
      {[](ConjugateGradientOptions* o) { o->hager_zhang_eta = 0; }, "hager_zhang_eta"},
      {[](ConjugateGradientOptions* o) { o->gradient_tolerance = -1; }, "gradient_tolerance"},
      {[](ConjugateGradientOptions* o) {
         o->function_tolerance = std::numeric_limits<double>::infinity();
       },
       "function_tolerance"},
      {[](ConjugateGradientOptions* o) { o->max_iterations = 0; }, "max_iterations"},
      {[](ConjugateGradientOptions* o) { o->max_evaluations = -5; }, "max_evaluations"},
      {[](ConjugateGradientOptions* o) { o->line_search.c2 = 1.5; }, "c2"},
  };
  for (const Case& c : cases) {
    ConjugateGradientOptions o;
    c.change(&o);
    error.clear();
    EXPECT_FALSE(o.IsValid(&error)) << c.expected;
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }
}

TEST(ConjugateGradientTest, InvalidOptionsTerminateWithoutEvaluating) {
  Rosenbrock f;
  ConjugateGradientOptions options;
  options.gradient_tolerance = -1.0;
  std::vector<float> x = {-1.2f, 1.0f};
  const ConjugateGradientSummary s = ConjugateGradient(options).Minimize(&f, x.data());
  EXPECT_EQ(s.termination, TerminationType::kInvalidOptions);
  EXPECT_NE(s.message.find("gradient_tolerance"), std::string::npos) << s.message;
  EXPECT_EQ(f.counts().gradients + f.counts().values, 0);
  EXPECT_EQ(x[0], -1.2f);
}

TEST(ConjugateGradientTest, NamesRoundTrip) {
  for (BetaRule rule : AllBetaRules()) {
    BetaRule parsed;
    std::string error;
    ASSERT_TRUE(ParseBetaRule(BetaRuleName(rule), &parsed, &error)) << error;
    EXPECT_EQ(parsed, rule);
  }
  BetaRule rule;
  std::string error;
  EXPECT_TRUE(ParseBetaRule("pr+", &rule, &error));
  EXPECT_EQ(rule, BetaRule::kPolakRibierePlus);
  EXPECT_FALSE(ParseBetaRule("newton", &rule, &error));
  EXPECT_NE(error.find("'newton'"), std::string::npos) << error;
  InitialStepRule step;
  EXPECT_TRUE(ParseInitialStepRule("quadratic", &step, &error));
  EXPECT_EQ(step, InitialStepRule::kQuadraticInterpolation);
  EXPECT_FALSE(ParseInitialStepRule("guess", &step, &error));
  EXPECT_EQ(TerminationTypeName(TerminationType::kLineSearchFailure), "line-search-failure");
}

// ---------------------------------------------------------------------------
// The classic problems (optimizers/test_problems.h), every beta rule, the
// strong Wolfe search, default options.
//
// What "converged" means in float32: x is float32, so near a minimiser x*
// the point moves in steps of ~6e-8 |x*| and f cannot fall below
// ~1/2 lambda_max (6e-8 |x*|)^2 -- e.g. ~1e-12 for Rosenbrock (lambda_max
// ~1000 at (1, 1)). The gradient there is ~lambda_max 6e-8 |x*| ~ 1e-4,
// above the default gradient_tolerance 1e-6, so on several problems the run
// ends with two line searches that cannot find a decrease at float32
// resolution (kLineSearchFailure) with x at the floor. A run counts as
// converged when
//  - f - f* <= f_tolerance (per problem, below),
//  - |x - x*|_inf <= x_tolerance where the minimiser is known,
//  - |g| <= 1e-4 max(1, |g_0|) (stationary to float32 precision), and
//  - the termination is convergence or a line-search failure at that floor
//    (not an iteration limit or a non-finite value).
// ---------------------------------------------------------------------------

enum class Outcome {
  kConverges,     // to the (global) minimum f* within the tolerances
  kLocalMinimum,  // to the documented local minimum `local_value`
  kFailsCleanly,  // a non-convergence termination, finite x, a message
};

struct ProblemExpectation {
  std::string problem;
  Outcome outcome;
  double f_tolerance;  // on f - f* (or |f - local_value|)
  double x_tolerance;  // on |x - x*|_inf; 0: not checked
  double gradient_tolerance = 1e-6;
  double local_value = 0.0;
  std::vector<double> local_minimizer = {};
  const char* why = "";
};

// Measured (default options, every beta rule) and the tolerance chosen:
const std::vector<ProblemExpectation>& Expectations() {
  static const std::vector<ProblemExpectation> kExpectations = {
      // f - f* measured <= 4.4e-10 (HZ), <= 2e-12 (PR+). The valley's small
      // Hessian eigenvalue (~0.4) maps f = 1e-8 to |x - x*| ~ 2e-4.
      {"rosenbrock", Outcome::kConverges, 1e-8, 1e-3},
      {"extended-rosenbrock", Outcome::kConverges, 1e-8, 1e-3},  // measured <= 1.9e-9 (DY)
      // Singular Hessian at x* = 0: f ~ |x|^4, so |x| ~ f^(1/4): measured
      // f <= 1.4e-9, |x| <= 5e-3; 1e-8 and 2e-2 (= (1e-8 / 10)^(1/4) x 0.6).
      {"powell-singular", Outcome::kConverges, 1e-8, 2e-2},
      {"wood", Outcome::kConverges, 1e-8, 1e-3},             // measured <= 2.9e-9, 5.7e-5
      {"beale", Outcome::kConverges, 1e-10, 1e-4},           // measured <= 3.7e-14, 4.8e-7
      {"helical-valley", Outcome::kConverges, 1e-10, 1e-4},  // measured <= 4e-14, 2e-7
      // x2* = 2e-6 next to x1* = 1e6: with a restart every n = 2 iterations
      // every rule stalls at f ~ 4.8e10 after five iterations, the searches
      // along -g finding no decrease at float32 resolution (without
      // restarts PR/PR+ do reach the float32 floor 2.55e-17 -- not the
      // default). A clean failure, not a wrong answer.
      {"brown-badly-scaled", Outcome::kFailsCleanly, 0, 0},
      // MGH's local minimum 48.98425 at (11.41, -0.8968): every rule from
      // the standard start descends into it.
      {"freudenstein-roth",
       Outcome::kLocalMinimum,
       1e-4,
       0,
       1e-6,
       48.98425367924,
       {11.41277898690, -0.896805253274}},
      // For n = 10 MGH report f = 2.79506e-5, a local minimum; every rule
      // ends there with |g| < 1e-6 (converged, to a local minimiser).
      {"trigonometric", Outcome::kLocalMinimum, 1e-9, 0, 1e-6, 2.79506e-5},
      {"broyden-tridiagonal", Outcome::kConverges, 1e-10, 0},  // measured <= 2.7e-13
      // Eigenvalues in [1, 1000]: |x - c| <= sqrt(2 (f - f*) / 1); measured
      // f <= 1.7e-10, |x - c| <= 8e-6.
      {"quadratic", Outcome::kConverges, 1e-8, 1e-4},
      // The More-Thuente functions are 1-D: CG is a sequence of line
      // searches along +-phi'. Measured f - f* <= 2e-14.
      {"more-thuente-1", Outcome::kConverges, 1e-12, 1e-4},
      // |phi'(0)| = 5.1e-7 is below the default gradient tolerance, so the
      // tolerance is lowered to 1e-9 for a real run; the minimiser 1.596 is
      // reached within float32 resolution (|x - x*| ~ 4e-8), where the
      // curvature test cannot hold (see the problem's notes): the run ends
      // at the floor with a line-search failure.
      {"more-thuente-2", Outcome::kConverges, 1e-12, 1e-6, 1e-9},
      {"more-thuente-3", Outcome::kConverges, 1e-12, 1e-4},
      // phi4 is flat at its minimiser (beta = 0.001): f - f* = 2e-14 at
      // |x - x*| = 5e-5, so 1e-3 on x.
      {"more-thuente-4", Outcome::kConverges, 1e-12, 1e-3},
      {"more-thuente-5", Outcome::kConverges, 1e-12, 0},
      {"more-thuente-6", Outcome::kConverges, 1e-12, 0},
  };
  return kExpectations;
}

TEST(ConjugateGradientTest, ExpectationsCoverEveryProblem) {
  std::vector<std::string> covered;
  for (const ProblemExpectation& e : Expectations()) covered.push_back(e.problem);
  EXPECT_EQ(covered, TestProblemNames());
}

TEST(ConjugateGradientTest, EveryBetaRuleOnEveryClassicProblem) {
  for (const ProblemExpectation& e : Expectations()) {
    for (BetaRule beta : AllBetaRules()) {
      SCOPED_TRACE(e.problem + ", " + BetaRuleName(beta));
      TestProblem problem;
      std::string error;
      ASSERT_TRUE(MakeTestProblem(e.problem, {}, &problem, &error)) << error;
      ConjugateGradientOptions options;
      options.beta = beta;
      options.gradient_tolerance = e.gradient_tolerance;
      std::vector<float> x = problem.start;
      const ConjugateGradientSummary s =
          ConjugateGradient(options).Minimize(problem.objective.get(), x.data());
      const std::string what = TerminationTypeName(s.termination) + ": " + s.message +
                               ", f = " + std::to_string(s.final_value);

      // Whatever the outcome: x finite, f its value, a message.
      ASSERT_TRUE(AllFinite(x)) << what;
      EXPECT_FALSE(s.message.empty());
      EXPECT_NE(s.termination, TerminationType::kNotTerminated);
      EXPECT_NE(s.termination, TerminationType::kNonFinite) << what;
      EXPECT_LE(s.final_value, s.initial_value) << what;
      EXPECT_DOUBLE_EQ(problem.objective->Value(x.data()), s.final_value);

      const bool clean_end = s.converged() || s.termination == TerminationType::kLineSearchFailure;
      switch (e.outcome) {
        case Outcome::kConverges: {
          EXPECT_TRUE(clean_end) << what;
          EXPECT_LE(s.final_value - problem.minimum_value, e.f_tolerance) << what;
          if (e.x_tolerance > 0) {
            ASSERT_EQ(problem.minimizer.size(), x.size());
            for (size_t i = 0; i < x.size(); ++i) {
              EXPECT_NEAR(x[i], problem.minimizer[i], e.x_tolerance) << "x[" << i << "], " << what;
            }
          }
          break;
        }
        case Outcome::kLocalMinimum: {
          EXPECT_TRUE(clean_end) << what;
          EXPECT_NEAR(s.final_value, e.local_value, e.f_tolerance) << what;
          for (size_t i = 0; i < e.local_minimizer.size(); ++i) {
            EXPECT_NEAR(x[i], e.local_minimizer[i], 1e-3) << "x[" << i << "], " << what;
          }
          break;
        }
        case Outcome::kFailsCleanly: {
          EXPECT_FALSE(s.converged()) << what;
          EXPECT_GT(s.final_value - problem.minimum_value, 1.0) << what;
          break;
        }
      }
      if (e.outcome != Outcome::kFailsCleanly) {
        // Stationary to float32 precision: |g| <= 1e-4 max(1, |g_0|).
        std::vector<float> g0(x.size());
        problem.objective->ValueAndGradient(problem.start.data(), g0.data());
        const double limit = 1e-4 * std::max(1.0, Norm(g0.data(), static_cast<int64_t>(g0.size())));
        EXPECT_LE(s.final_gradient_norm, limit) << what;
      }
    }
  }
}

TEST(ConjugateGradientTest, FletcherReevesAndDaiYuanWithoutRestartsJamCleanly) {
  // FR (and DY) without restarts are known to jam: after a bad step the
  // direction stays nearly orthogonal to -g and the steps become tiny
  // (Powell 1977; Nocedal & Wright sec. 5.2). On Wood both are still far
  // from the minimum after 300 iterations (measured f = 8.8e-6 and 1.6e-2),
  // where with the default restarts FR reaches f ~ 2e-11 in 135. The end is
  // clean: the iteration limit, finite x, a message.
  for (BetaRule beta : {BetaRule::kFletcherReeves, BetaRule::kDaiYuan}) {
    SCOPED_TRACE(BetaRuleName(beta));
    TestProblem problem;
    std::string error;
    ASSERT_TRUE(MakeTestProblem("wood", {}, &problem, &error)) << error;
    ConjugateGradientOptions options;
    options.beta = beta;
    options.restart_every = int64_t{1} << 40;
    options.powell_restart_threshold = 0.0;
    options.max_iterations = 300;
    std::vector<float> x = problem.start;
    ConjugateGradientSummary s =
        ConjugateGradient(options).Minimize(problem.objective.get(), x.data());
    EXPECT_EQ(s.termination, TerminationType::kMaxIterations) << s.message;
    EXPECT_NE(s.message.find("max_iterations 300"), std::string::npos) << s.message;
    EXPECT_TRUE(AllFinite(x));
    EXPECT_GT(s.final_value, 1e-6);
    // The control: the same rule with the default restarts converges.
    options = ConjugateGradientOptions{};
    options.beta = beta;
    x = problem.start;
    s = ConjugateGradient(options).Minimize(problem.objective.get(), x.data());
    EXPECT_LT(s.final_value, 1e-8) << s.message;
  }
}

TEST(ConjugateGradientTest, AcceptedStrongWolfeStepsSatisfyBothConditions) {
  // Re-derive every successful iteration's direction from the records
  // (d_0 = -g_0, d = -g + beta d) and check, independently of the search,
  //   f(x_{k+1}) <= f(x_k) + c1 alpha g_k.d_k   and
  //   |g_{k+1}.d_k| <= c2 |g_k.d_k|
  // with f and g re-evaluated at the returned point by a second objective.
  for (const std::string& name :
       {std::string("rosenbrock"), std::string("wood"), std::string("helical-valley"),
        std::string("quadratic"), std::string("trigonometric"), std::string("beale")}) {
    for (BetaRule beta : AllBetaRules()) {
      SCOPED_TRACE(name + ", " + BetaRuleName(beta));
      TestProblem problem, check;
      std::string error;
      ASSERT_TRUE(MakeTestProblem(name, {}, &problem, &error)) << error;
      ASSERT_TRUE(MakeTestProblem(name, {}, &check, &error)) << error;
      const int64_t n = problem.n;
      ConjugateGradientOptions options;
      options.beta = beta;
      ConjugateGradient cg(options);
      cg.Begin(problem.objective.get(), problem.start.data());
      std::vector<float> d(n), g_new(n);
      for (int64_t i = 0; i < n; ++i) d[i] = -cg.gradient()[i];
      int checked = 0;
      while (cg.summary().termination == TerminationType::kNotTerminated) {
        const std::vector<float> x = cg.x(), g = cg.gradient();
        const double f = cg.value();
        const double slope = Dot(g.data(), d.data(), n);
        ASSERT_LT(slope, 0.0) << "not a descent direction at iteration " << cg.summary().iterations;
        const CgIterationRecord r = cg.Iterate();
        if (r.line_search_status == LineSearchStatus::kSuccess) {
          const double f_new = check.objective->ValueAndGradient(cg.x().data(), g_new.data());
          EXPECT_EQ(f_new, cg.value());
          EXPECT_LE(f_new, f + options.line_search.c1 * r.step * slope)
              << "sufficient decrease, iteration " << r.iteration;
          EXPECT_LE(std::abs(Dot(g_new.data(), d.data(), n)),
                    options.line_search.c2 * std::abs(slope))
              << "curvature, iteration " << r.iteration;
          // The returned point is x + alpha d, as float32 computes it.
          std::vector<float> expected(n);
          AxpyInto(x.data(), r.step, d.data(), expected.data(), n);
          EXPECT_EQ(cg.x(), expected) << "iteration " << r.iteration;
          ++checked;
        }
        if (cg.summary().termination == TerminationType::kNotTerminated) {
          NextDirection(r, cg.gradient(), &d);
        }
      }
      EXPECT_GT(checked, 5);
    }
  }
}

// beta by its definition, in double with y = g_{k+1} - g_k formed
// explicitly (the solver never forms y; see conjugate_gradient.cc).
double ExpectedBeta(BetaRule rule, const std::vector<float>& g_old, const std::vector<float>& g,
                    const std::vector<float>& d, double eta, bool* bounded) {
  double gg = 0, gg_old = 0, gy = 0, dy = 0, yy = 0, dg = 0, dd = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double y = static_cast<double>(g[i]) - g_old[i];
    gg += static_cast<double>(g[i]) * g[i];
    gg_old += static_cast<double>(g_old[i]) * g_old[i];
    gy += g[i] * y;
    dy += d[i] * y;
    yy += y * y;
    dg += static_cast<double>(d[i]) * g[i];
    dd += static_cast<double>(d[i]) * d[i];
  }
  switch (rule) {
    case BetaRule::kFletcherReeves:
      return gg / gg_old;
    case BetaRule::kPolakRibiere:
      return gy / gg_old;
    case BetaRule::kPolakRibierePlus:
      return std::max(0.0, gy / gg_old);
    case BetaRule::kHestenesStiefel:
      return gy / dy;
    case BetaRule::kDaiYuan:
      return gg / dy;
    case BetaRule::kHagerZhang: {
      const double beta = (gy - 2.0 * yy * dg / dy) / dy;
      const double eta_k = -1.0 / (std::sqrt(dd) * std::min(eta, std::sqrt(gg_old)));
      if (bounded != nullptr) *bounded = beta < eta_k;
      return std::max(beta, eta_k);
    }
  }
  return kNaN;
}

TEST(ConjugateGradientTest, BetaFormulasMatchTheirDefinitions) {
  // With inexact (strong Wolfe) steps the rules differ; every non-restart
  // iteration's beta must be its rule's formula evaluated on g_k, g_{k+1},
  // d_k. Helical valley and the trigonometric function give mixed signs of
  // g_{k+1}.y_k (PR+ clipping); HZ's eta_k bound is active in a few
  // iterations (4 of ~250 measured), with eta = 0.01 and 10 (then
  // min(eta, |g_k|) = |g_k| once |g_k| < 10).
  int hz_bounded = 0;
  for (const std::string& name :
       {std::string("helical-valley"), std::string("trigonometric"), std::string("wood")}) {
    for (BetaRule beta : AllBetaRules()) {
      for (double eta : {0.01, 10.0}) {
        SCOPED_TRACE(name + ", " + BetaRuleName(beta) + ", eta " + std::to_string(eta));
        TestProblem problem;
        std::string error;
        ASSERT_TRUE(MakeTestProblem(name, {}, &problem, &error)) << error;
        ConjugateGradientOptions options;
        options.beta = beta;
        options.hager_zhang_eta = eta;
        options.powell_restart_threshold = 0.0;  // more non-restart iterations
        options.restart_every = 1000;
        options.max_iterations = 60;
        // The trajectories the comment above describes (PR+ clipping on
        // helical valley) are those of the N&W initial step.
        options.initial_step = InitialStepRule::kPreviousStep;
        ConjugateGradient cg(options);
        cg.Begin(problem.objective.get(), problem.start.data());
        std::vector<float> d(problem.n);
        for (int64_t i = 0; i < problem.n; ++i) d[i] = -cg.gradient()[i];
        int compared = 0, clipped = 0;
        while (cg.summary().termination == TerminationType::kNotTerminated) {
          const std::vector<float> g_old = cg.gradient();
          const CgIterationRecord r = cg.Iterate();
          if (cg.summary().termination != TerminationType::kNotTerminated) break;
          if (!r.restarted) {
            bool bounded = false;
            const double expected = ExpectedBeta(beta, g_old, cg.gradient(), d, eta, &bounded);
            hz_bounded += bounded;
            EXPECT_NEAR(r.beta, expected, 1e-9 * std::max(1.0, std::abs(expected)))
                << "iteration " << r.iteration;
            ++compared;
            clipped += r.beta == 0.0;
          }
          NextDirection(r, cg.gradient(), &d);
        }
        EXPECT_GE(compared, 5);
        if (beta == BetaRule::kPolakRibierePlus && name == "helical-valley") {
          EXPECT_GT(clipped, 0) << "PR+'s max(., 0) was never exercised";
        }
      }
    }
  }
  EXPECT_GT(hz_bounded, 0) << "HZ's eta_k lower bound was never active";
}

// The efficiency report of `twophase minimize --all`: gradient evaluations
// per CG iteration of the strong Wolfe search (PR+), pooled over the problem
// set: sum of the searches' gradient evaluations / sum of iterations (the
// initial evaluation in Begin excluded).
struct Efficiency {
  int64_t iterations = 0, values = 0, gradients = 0;
  double pooled() const { return static_cast<double>(gradients) / static_cast<double>(iterations); }
};

Efficiency MeasureEfficiency(InitialStepRule rule, const char* label) {
  Efficiency total;
  std::printf("%-12s %-22s %6s %6s %6s %8s  %s\n", "initial", "problem", "iter", "value", "grad",
              "grad/it", "termination");
  for (const std::string& name : TestProblemNames()) {
    TestProblem problem;
    std::string error;
    if (!MakeTestProblem(name, {}, &problem, &error)) {
      ADD_FAILURE() << error;
      continue;
    }
    ConjugateGradientOptions options;  // PR+, strong Wolfe
    options.initial_step = rule;
    std::vector<float> x = problem.start;
    const ConjugateGradientSummary s =
        ConjugateGradient(options).Minimize(problem.objective.get(), x.data());
    const int64_t search_gradients = s.gradient_evaluations - 1;
    std::printf("%-12s %-22s %6lld %6lld %6lld %8.2f  %s\n", label, name.c_str(),
                static_cast<long long>(s.iterations), static_cast<long long>(s.value_evaluations),
                static_cast<long long>(search_gradients),
                s.iterations > 0 ? static_cast<double>(search_gradients) / s.iterations : 0.0,
                TerminationTypeName(s.termination).c_str());
    total.iterations += s.iterations;
    total.values += s.value_evaluations;
    total.gradients += search_gradients;
  }
  std::printf("%-12s %-22s %6lld %6lld %6lld %8.3f\n", label, "TOTAL",
              static_cast<long long>(total.iterations), static_cast<long long>(total.values),
              static_cast<long long>(total.gradients), total.pooled());
  return total;
}

TEST(ConjugateGradientTest, StrongWolfeEfficiencyOverTheProblemSet) {
  // The target: <= 1.5 gradient evaluations per iteration for the default
  // configuration (PR+, strong Wolfe, c1 = 1e-4, c2 = 0.1). Measured:
  //  - previous (N&W 3.60): ~2.45. The first trial is rarely within the
  //    10 % of the line minimiser that |phi'| <= 0.1 |phi'(0)| demands: on
  //    the 20-D quadratic nearly every search takes exactly 2.
  //  - quadstep (CG_DESCENT's QuadStep, the default: one value-only probe,
  //    quadratic fit; the probe is also passed to the search, whose first
  //    interpolation is then a quartic through all five data, and QuadStep
  //    also refines the first search): ~1.46-1.49 gradient + 1.00 value
  //    evaluations per iteration (before those two additions: 1.56 + 0.95).
  //    The remainder is Rosenbrock-type curved valleys, the 1-D
  //    More-Thuente functions (built to defeat line searches) and the
  //    searches near the float32 floor, including the two failed ones that
  //    end most runs. The pooled figure moves by a few hundredths with
  //    floating-point details (e.g. FMA contraction under -march=native):
  //    the runs that end at the float32 floor are chaotic there.
  // QuadStep must also stay the cheaper rule in forward-pass units (a
  // gradient = 1 forward + 1 backward ~ 3 forward-pass costs, a value = 1).
  const Efficiency previous = MeasureEfficiency(InitialStepRule::kPreviousStep, "previous");
  const Efficiency quadstep = MeasureEfficiency(InitialStepRule::kQuadStep, "quadstep");
  ASSERT_EQ(ConjugateGradientOptions{}.initial_step, InitialStepRule::kQuadStep);
  // Measured 1.461 on the reference machine (1.5 is the project's target).
  // The figure moves by a few hundredths with floating-point details (FMA
  // contraction, another CPU), so the guard against regressions sits at 1.6
  // rather than on the target itself.
  EXPECT_LE(quadstep.pooled(), 1.6);
  EXPECT_LE(previous.pooled(), 2.8);
  EXPECT_LT(3 * quadstep.gradients + quadstep.values, 3 * previous.gradients + previous.values);
}

}  // namespace
}  // namespace twophase
