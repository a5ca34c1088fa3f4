#include "optimizers/line_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "optimizers/test_problems.h"

namespace twophase {
namespace {

// More & Thuente (1994), Tables 1-6: per function, the constants (mu = c1,
// eta = c2) and the number of function evaluations their search needed
// from alpha0 = 1e-3, 1e-1, 1e1, 1e3 (the same counts are reproduced by
// O'Leary's Matlab translation of their code).
struct MoreThuenteTable {
  int function;
  double mu;
  double eta;
  int published[4];
};
constexpr MoreThuenteTable kTables[6] = {
    {1, 1e-3, 0.1, {6, 3, 1, 4}},  {2, 0.1, 0.1, {12, 8, 8, 11}}, {3, 0.1, 0.1, {12, 12, 10, 13}},
    {4, 1e-3, 1e-3, {4, 1, 3, 4}}, {5, 1e-3, 1e-3, {6, 3, 7, 8}}, {6, 1e-3, 1e-3, {13, 11, 8, 11}},
};
constexpr double kInitialSteps[4] = {1e-3, 1e-1, 1e1, 1e3};

// Our options require c1 < c2 strictly; MT use mu = eta in Tables 2-6, so
// c2 is taken one ulp above eta there.
LineSearchOptions TableOptions(const MoreThuenteTable& table, LineSearchKind kind) {
  LineSearchOptions options;
  options.kind = kind;
  options.c1 = table.mu;
  options.c2 = table.mu < table.eta ? table.eta : std::nextafter(table.eta, 1.0);
  return options;
}

TestProblem MakeProblem(const std::string& name) {
  TestProblem problem;
  std::string error;
  EXPECT_TRUE(MakeTestProblem(name, {}, &problem, &error)) << error;
  return problem;
}

// phi and phi' at alpha, evaluated independently of the search.
void EvaluateAt(Objective* f, double alpha, double* value, double* slope) {
  const float x = static_cast<float>(alpha);
  float g = 0.0f;
  *value = f->ValueAndGradient(&x, &g);
  *slope = g;
}

struct SearchRun {
  LineSearchResult result;
  float x_new = 0.0f;
  float g_new = 0.0f;
  double f0 = 0.0;
  double g0 = 0.0;
};

// A search on a 1-D problem from x = 0 along d = +1.
SearchRun Run1D(Objective* f, double initial_step, const LineSearchOptions& options) {
  SearchRun run;
  const float x = 0.0f, d = 1.0f;
  float g = 0.0f;
  run.f0 = f->ValueAndGradient(&x, &g);
  run.g0 = g;
  run.result = LineSearch(f, &x, run.f0, &g, &d, initial_step, options, &run.x_new, &run.g_new);
  return run;
}

// ---------------------------------------------------------------------------
// Strong Wolfe on More & Thuente's functions: both conditions hold at the
// returned step, checked from fresh evaluations, within a small multiple of
// MT's published evaluation counts.
TEST(LineSearchMoreThuente, StrongWolfeSatisfiesBothConditions) {
  std::printf("strong Wolfe on More-Thuente functions: evaluations (MT 1994 in parentheses)\n");
  for (const MoreThuenteTable& table : kTables) {
    TestProblem problem = MakeProblem("more-thuente-" + std::to_string(table.function));
    const LineSearchOptions options = TableOptions(table, LineSearchKind::kStrongWolfe);
    std::printf("  phi%d:", table.function);
    for (int s = 0; s < 4; ++s) {
      SCOPED_TRACE("phi" + std::to_string(table.function) + " alpha0 " +
                   std::to_string(kInitialSteps[s]));
      const SearchRun run = Run1D(problem.objective.get(), kInitialSteps[s], options);
      const LineSearchResult& r = run.result;
      std::printf(" %d (%d)", r.gradient_evaluations + r.value_evaluations, table.published[s]);
      EXPECT_EQ(r.value_evaluations, 0);  // every probe needs phi'
      EXPECT_LE(r.gradient_evaluations, std::max(12, 2 * table.published[s])) << r.message;
      EXPECT_GT(r.step, 0.0);
      EXPECT_EQ(run.x_new, static_cast<float>(r.step));
      double value, slope;
      EvaluateAt(problem.objective.get(), r.step, &value, &slope);
      EXPECT_EQ(value, r.value);
      EXPECT_EQ(slope, r.derivative);
      EXPECT_EQ(static_cast<float>(slope), run.g_new);
      EXPECT_LE(value, run.f0 + options.c1 * r.step * run.g0) << "sufficient decrease";
      if (table.function == 2) {
        // Curvature needs |alpha - alpha*| <= 2.5e-9 here, 1/50 of a float32
        // ulp at alpha* = 1.596: unreachable on float32 points. The search
        // must say so and return the float32 point next to the minimiser.
        if (!r.ok()) {
          EXPECT_EQ(r.status, LineSearchStatus::kEvaluationLimit) << r.message;
          EXPECT_NE(r.message.find("float32 resolution"), std::string::npos) << r.message;
        }
        EXPECT_NEAR(r.step, 1.596, 3e-7) << r.message;
      } else {
        EXPECT_TRUE(r.ok()) << LineSearchStatusName(r.status) << ": " << r.message;
        EXPECT_LE(std::fabs(slope), options.c2 * std::fabs(run.g0)) << "curvature";
      }
    }
    std::printf("\n");
  }
}

// Hager-Zhang with MT's constants as (delta, sigma): the returned step
// satisfies the Wolfe or the approximate Wolfe conditions, checked from
// fresh evaluations.
TEST(LineSearchMoreThuente, HagerZhangSatisfiesWolfeOrApproximateWolfe) {
  std::printf("Hager-Zhang on More-Thuente functions: evaluations\n");
  for (const MoreThuenteTable& table : kTables) {
    TestProblem problem = MakeProblem("more-thuente-" + std::to_string(table.function));
    LineSearchOptions options;
    options.kind = LineSearchKind::kHagerZhang;
    options.hz_delta = table.mu;
    options.hz_sigma = table.eta;
    std::printf("  phi%d:", table.function);
    for (int s = 0; s < 4; ++s) {
      SCOPED_TRACE("phi" + std::to_string(table.function) + " alpha0 " +
                   std::to_string(kInitialSteps[s]));
      const SearchRun run = Run1D(problem.objective.get(), kInitialSteps[s], options);
      const LineSearchResult& r = run.result;
      std::printf(" %d", r.gradient_evaluations + r.value_evaluations);
      EXPECT_EQ(r.value_evaluations, 0);
      EXPECT_LE(r.gradient_evaluations, 20) << r.message;
      double value, slope;
      EvaluateAt(problem.objective.get(), r.step, &value, &slope);
      EXPECT_EQ(value, r.value);
      EXPECT_EQ(slope, r.derivative);
      EXPECT_EQ(run.x_new, static_cast<float>(r.step));
      const bool curvature = slope >= options.hz_sigma * run.g0;
      const bool wolfe = curvature && value - run.f0 <= options.hz_delta * r.step * run.g0;
      const bool approximate = curvature && (2 * options.hz_delta - 1) * run.g0 >= slope &&
                               value <= run.f0 + options.hz_epsilon * std::fabs(run.f0);
      if (table.function == 2 && !r.ok()) {
        // As for strong Wolfe: T2 needs alpha within [-2.5e-9, 2e-8] of
        // alpha* = 1.596, a window that may hold no float32 point.
        EXPECT_EQ(r.status, LineSearchStatus::kEvaluationLimit) << r.message;
        EXPECT_NE(r.message.find("float32 resolution"), std::string::npos) << r.message;
        EXPECT_NEAR(r.step, 1.596, 3e-7) << r.message;
        continue;
      }
      EXPECT_TRUE(r.ok()) << LineSearchStatusName(r.status) << ": " << r.message;
      EXPECT_TRUE(wolfe || approximate)
          << "step " << r.step << " phi " << value << " phi' " << slope << ": " << r.message;
      EXPECT_EQ(wolfe, r.message.rfind("Wolfe", 0) == 0) << r.message;
    }
    std::printf("\n");
  }
}

// Golden section: a step with f below f0 at a 1-D local minimiser of phi
// (phi' changes sign within the relative tolerance around it).
TEST(LineSearchMoreThuente, GoldenFindsALocalMinimiserOfPhi) {
  std::printf("golden on More-Thuente functions: evaluations (value + final gradient)\n");
  for (const MoreThuenteTable& table : kTables) {
    TestProblem problem = MakeProblem("more-thuente-" + std::to_string(table.function));
    LineSearchOptions options;
    options.kind = LineSearchKind::kGolden;
    options.max_evaluations = 60;  // from alpha0 = 1e3 the bracket spans 1e3
    std::printf("  phi%d:", table.function);
    for (int s = 0; s < 4; ++s) {
      SCOPED_TRACE("phi" + std::to_string(table.function) + " alpha0 " +
                   std::to_string(kInitialSteps[s]));
      const SearchRun run = Run1D(problem.objective.get(), kInitialSteps[s], options);
      const LineSearchResult& r = run.result;
      std::printf(" %d+%d", r.value_evaluations, r.gradient_evaluations);
      ASSERT_TRUE(r.ok()) << LineSearchStatusName(r.status) << ": " << r.message;
      EXPECT_EQ(r.gradient_evaluations, 1);
      EXPECT_LT(r.value, run.f0);
      double value, slope;
      EvaluateAt(problem.objective.get(), r.step, &value, &slope);
      EXPECT_EQ(value, r.value);
      EXPECT_EQ(static_cast<float>(slope), run.g_new);
      // phi' < 0 just left of the step and > 0 just right of it (NR's
      // criterion bounds the final bracket by tol (|x1| + |x2|)).
      const double margin = 3.0 * options.golden_tolerance * r.step;
      double f_lo, g_lo, f_hi, g_hi;
      EvaluateAt(problem.objective.get(), r.step - margin, &f_lo, &g_lo);
      EvaluateAt(problem.objective.get(), r.step + margin, &f_hi, &g_hi);
      EXPECT_LT(g_lo, 0.0) << "step " << r.step;
      EXPECT_GT(g_hi, 0.0) << "step " << r.step;
      EXPECT_LE(value, std::min(f_lo, f_hi));
    }
    std::printf("\n");
  }
}

// ---------------------------------------------------------------------------
// An objective wrapper that records every value it returns.
class Recording : public Objective {
 public:
  explicit Recording(Objective* inner) : inner_(inner) {}
  int64_t size() const override { return inner_->size(); }
  std::string name() const override { return "recording " + inner_->name(); }
  std::vector<double> values;

 protected:
  double DoValue(const float* x) override {
    values.push_back(inner_->Value(x));
    return values.back();
  }
  double DoValueAndGradient(const float* x, float* g) override {
    values.push_back(inner_->ValueAndGradient(x, g));
    return values.back();
  }

 private:
  Objective* inner_;
};

// f = 1/2 |x - t|^2 with t = (4, 2), but NaN (value and gradient, or the
// gradient only) where x[0] > limit.
class NanBeyond : public Objective {
 public:
  NanBeyond(double limit, bool gradient_only) : limit_(limit), gradient_only_(gradient_only) {}
  int64_t size() const override { return 2; }
  std::string name() const override { return "nan-beyond"; }

 protected:
  double DoValue(const float* x) override { return Eval(x, nullptr); }
  double DoValueAndGradient(const float* x, float* g) override { return Eval(x, g); }

 private:
  double Eval(const float* x, float* g) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const bool bad = x[0] > limit_;
    const double r0 = x[0] - 4.0, r1 = x[1] - 2.0;
    if (g != nullptr) {
      g[0] = static_cast<float>(bad ? nan : r0);
      g[1] = static_cast<float>(bad ? nan : r1);
    }
    if (bad && !gradient_only_) return nan;
    return 0.5 * (r0 * r0 + r1 * r1);
  }
  double limit_;
  bool gradient_only_;
};

struct Search2D {
  LineSearchResult result;
  std::vector<float> x = {0.0f, 0.0f};
  std::vector<float> g0 = std::vector<float>(2);
  std::vector<float> d = {4.0f, 2.0f};  // phi(alpha) = 10 (1 - alpha)^2
  std::vector<float> x_new = std::vector<float>(2);
  std::vector<float> g_new = std::vector<float>(2);
  double f0 = 0.0;
};

Search2D Run2D(Objective* f, double initial_step, const LineSearchOptions& options) {
  Search2D s;
  s.f0 = f->ValueAndGradient(s.x.data(), s.g0.data());
  s.result = LineSearch(f, s.x.data(), s.f0, s.g0.data(), s.d.data(), initial_step, options,
                        s.x_new.data(), s.g_new.data());
  return s;
}

constexpr LineSearchKind kKinds[3] = {LineSearchKind::kStrongWolfe, LineSearchKind::kHagerZhang,
                                      LineSearchKind::kGolden};

bool AllFinite(const std::vector<float>& v) {
  for (float e : v) {
    if (!std::isfinite(e)) return false;
  }
  return true;
}

TEST(LineSearch, NanBeyondTheMinimiserIsSteppedBackFrom) {
  // NaN for alpha > 2; the minimiser alpha = 1 is finite: the search shrinks
  // the step from 10 and then succeeds, and says that it met NaN.
  for (LineSearchKind kind : kKinds) {
    for (bool gradient_only : {false, true}) {
      SCOPED_TRACE(LineSearchKindName(kind) + (gradient_only ? " gradient-only" : ""));
      if (kind == LineSearchKind::kGolden && gradient_only) continue;  // value-only probes
      NanBeyond f(8.0, gradient_only);
      LineSearchOptions options;
      options.kind = kind;
      const Search2D s = Run2D(&f, 10.0, options);
      EXPECT_TRUE(s.result.ok()) << s.result.message;
      EXPECT_NE(s.result.message.find("non-finite"), std::string::npos) << s.result.message;
      EXPECT_TRUE(AllFinite(s.x_new));
      EXPECT_TRUE(AllFinite(s.g_new));
      EXPECT_LT(s.result.value, s.f0);
      EXPECT_TRUE(std::isfinite(s.result.derivative));
      if (kind == LineSearchKind::kHagerZhang) {
        // Weak Wolfe with sigma = 0.9: any step in about (0.06, 1.9).
        EXPECT_GT(s.result.step, 0.0);
        EXPECT_LT(s.result.step, 2.0);
      } else {
        // |phi'| <= 0.1 |phi'(0)| means |alpha - 1| <= 0.1; golden is closer.
        EXPECT_NEAR(s.result.step, 1.0, 0.1);
      }
    }
  }
}

TEST(LineSearch, NanBeforeTheMinimiserGivesTheBestFinitePoint) {
  // NaN for alpha > 0.5, f decreasing up to there: no step satisfies the
  // Wolfe conditions; the best finite point is returned, never a NaN one.
  for (LineSearchKind kind : kKinds) {
    SCOPED_TRACE(LineSearchKindName(kind));
    NanBeyond f(2.0, false);
    LineSearchOptions options;
    options.kind = kind;
    options.hz_sigma = 0.1;  // else phi'(0.5) = -10 >= 0.9 phi'(0) would do
    const Search2D s = Run2D(&f, 1.0, options);
    EXPECT_NE(s.result.message.find("non-finite"), std::string::npos) << s.result.message;
    EXPECT_TRUE(AllFinite(s.x_new));
    EXPECT_TRUE(AllFinite(s.g_new));
    EXPECT_LT(s.result.value, s.f0);
    EXPECT_GT(s.result.step, 0.3);
    EXPECT_LE(s.result.step, 0.5);
    EXPECT_EQ(s.x_new[0], static_cast<float>(4.0 * s.result.step));
    if (kind != LineSearchKind::kGolden) {
      // Golden, blind to derivatives, takes the edge for a minimiser.
      EXPECT_EQ(s.result.status, LineSearchStatus::kEvaluationLimit) << s.result.message;
    }
  }
}

TEST(LineSearch, NanEverywhereReturnsXWithNonFinite) {
  for (LineSearchKind kind : kKinds) {
    SCOPED_TRACE(LineSearchKindName(kind));
    NanBeyond f(0.0, false);  // every alpha > 0 is NaN
    LineSearchOptions options;
    options.kind = kind;
    const Search2D s = Run2D(&f, 1.0, options);
    EXPECT_EQ(s.result.status, LineSearchStatus::kNonFinite) << s.result.message;
    EXPECT_NE(s.result.message.find("non-finite"), std::string::npos) << s.result.message;
    EXPECT_EQ(s.result.step, 0.0);
    EXPECT_EQ(s.result.value, s.f0);
    EXPECT_EQ(s.x_new, s.x);
    EXPECT_EQ(s.g_new, s.g0);
    EXPECT_LE(s.result.value_evaluations + s.result.gradient_evaluations, options.max_evaluations);
  }
}

TEST(LineSearch, AscentDirectionIsRejectedWithoutEvaluations) {
  TestProblem p = MakeProblem("rosenbrock");
  std::vector<float> g0(2), x_new(2, 7.0f), g_new(2, 7.0f);
  const double f0 = p.objective->ValueAndGradient(p.start.data(), g0.data());
  for (LineSearchKind kind : kKinds) {
    SCOPED_TRACE(LineSearchKindName(kind));
    LineSearchOptions options;
    options.kind = kind;
    for (const std::vector<float>& d : {g0, std::vector<float>{0.0f, 0.0f}}) {
      p.objective->ResetCounts();
      const LineSearchResult r = LineSearch(p.objective.get(), p.start.data(), f0, g0.data(),
                                            d.data(), 1.0, options, x_new.data(), g_new.data());
      EXPECT_EQ(r.status, LineSearchStatus::kNotDescent);
      EXPECT_NE(r.message.find("not a descent direction"), std::string::npos) << r.message;
      EXPECT_EQ(p.objective->counts().values + p.objective->counts().gradients, 0);
      EXPECT_EQ(r.value_evaluations + r.gradient_evaluations, 0);
      EXPECT_EQ(r.step, 0.0);
      EXPECT_EQ(x_new, p.start);
      EXPECT_EQ(g_new, g0);
    }
  }
}

TEST(LineSearch, EvaluationLimitIsHonouredAndTheBestPointReturned) {
  // phi5 from 1e-3 needs 6 strong Wolfe evaluations (MT Table 5).
  for (LineSearchKind kind : kKinds) {
    SCOPED_TRACE(LineSearchKindName(kind));
    TestProblem problem = MakeProblem("more-thuente-5");
    Recording f(problem.objective.get());
    LineSearchOptions options;
    options.kind = kind;
    options.c1 = options.hz_delta = 1e-3;
    options.c2 = options.hz_sigma = 2e-3;
    options.max_evaluations = 3;
    const SearchRun run = Run1D(&f, 1e-3, options);
    const LineSearchResult& r = run.result;
    EXPECT_EQ(r.status, LineSearchStatus::kEvaluationLimit) << r.message;
    EXPECT_NE(r.message.find("evaluation limit"), std::string::npos) << r.message;
    EXPECT_EQ(r.value_evaluations + r.gradient_evaluations, 3);
    EXPECT_EQ(f.values.size(), 4u);  // f0 and the three probes
    EXPECT_EQ(problem.objective->counts().values + problem.objective->counts().gradients, 4);
    // The lowest value seen is the one returned, with its point and slope.
    double lowest = f.values[0];
    for (double v : f.values) lowest = std::min(lowest, v);
    EXPECT_LT(lowest, run.f0);
    EXPECT_EQ(r.value, lowest);
    double value, slope;
    EvaluateAt(problem.objective.get(), r.step, &value, &slope);
    EXPECT_EQ(value, r.value);
    EXPECT_EQ(run.x_new, static_cast<float>(r.step));
    EXPECT_EQ(run.g_new, static_cast<float>(slope));
  }
}

TEST(LineSearch, AGoodInitialStepIsAcceptedAtOnce) {
  // On a quadratic with the exact minimising step, Wolfe and Hager-Zhang
  // spend one evaluation.
  TestProblem p = MakeProblem("quadratic");
  std::vector<float> g0(p.n), d(p.n), x_new(p.n), g_new(p.n), ad(p.n);
  const double f0 = p.objective->ValueAndGradient(p.start.data(), g0.data());
  for (int64_t i = 0; i < p.n; ++i) d[i] = -g0[i];
  // alpha* = -g.d / d.A d, with A d = g(x0 + d) - g(x0).
  std::vector<float> xd(p.n);
  for (int64_t i = 0; i < p.n; ++i) xd[i] = p.start[i] + d[i];
  p.objective->ValueAndGradient(xd.data(), ad.data());
  double gd = 0.0, dad = 0.0;
  for (int64_t i = 0; i < p.n; ++i) {
    gd += static_cast<double>(g0[i]) * d[i];
    dad += static_cast<double>(d[i]) * (ad[i] - g0[i]);
  }
  for (LineSearchKind kind : {LineSearchKind::kStrongWolfe, LineSearchKind::kHagerZhang}) {
    LineSearchOptions options;
    options.kind = kind;
    const LineSearchResult r = LineSearch(p.objective.get(), p.start.data(), f0, g0.data(),
                                          d.data(), -gd / dad, options, x_new.data(), g_new.data());
    EXPECT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.gradient_evaluations, 1) << LineSearchKindName(kind) << ": " << r.message;
    EXPECT_EQ(r.value_evaluations, 0);
    EXPECT_DOUBLE_EQ(r.step, -gd / dad);
  }
}

// f(x) = -x (1-D, unbounded below) or (x - 1)^2.
class Simple1D : public Objective {
 public:
  explicit Simple1D(bool linear) : linear_(linear) {}
  int64_t size() const override { return 1; }
  std::string name() const override { return linear_ ? "linear" : "parabola"; }

 protected:
  double DoValue(const float* x) override { return Eval(x, nullptr); }
  double DoValueAndGradient(const float* x, float* g) override { return Eval(x, g); }

 private:
  double Eval(const float* x, float* g) const {
    const double r = static_cast<double>(x[0]) - 1.0;
    if (g != nullptr) *g = linear_ ? -1.0f : static_cast<float>(2.0 * r);
    return linear_ ? -static_cast<double>(x[0]) : r * r;
  }
  bool linear_;
};

TEST(LineSearch, StepsStopAtTheCap) {
  // phi(alpha) = -alpha: no step satisfies curvature; the steps grow to
  // max_step_factor * initial step and stop there, returning that point.
  for (LineSearchKind kind : kKinds) {
    SCOPED_TRACE(LineSearchKindName(kind));
    Simple1D f(true);
    LineSearchOptions options;
    options.kind = kind;
    options.max_step_factor = 100.0;
    const SearchRun run = Run1D(&f, 1.0, options);
    const LineSearchResult& r = run.result;
    EXPECT_EQ(r.status, LineSearchStatus::kEvaluationLimit) << r.message;
    EXPECT_NE(r.message.find("cap"), std::string::npos) << r.message;
    EXPECT_EQ(r.step, 100.0) << r.message;
    EXPECT_EQ(run.x_new, 100.0f);
    EXPECT_EQ(r.value, -100.0);
    EXPECT_LT(r.value_evaluations + r.gradient_evaluations, options.max_evaluations);
  }
}

TEST(LineSearch, NoDecreaseReturnsXItself) {
  // x = 1 is the minimiser of (x - 1)^2, but the caller claims g0 = -1:
  // no step finds a value below f0 = 0.
  for (LineSearchKind kind : kKinds) {
    SCOPED_TRACE(LineSearchKindName(kind));
    Simple1D f(false);
    LineSearchOptions options;
    options.kind = kind;
    const float x = 1.0f, g0 = -1.0f, d = 1.0f;
    float x_new = 5.0f, g_new = 5.0f;
    const double f0 = f.Value(&x);
    f.ResetCounts();
    const LineSearchResult r = LineSearch(&f, &x, f0, &g0, &d, 1.0, options, &x_new, &g_new);
    EXPECT_EQ(r.status, LineSearchStatus::kNoDecrease) << r.message;
    EXPECT_NE(r.message.find("no point below f0"), std::string::npos) << r.message;
    EXPECT_EQ(r.step, 0.0);
    EXPECT_EQ(r.value, f0);
    EXPECT_EQ(r.derivative, -1.0);
    EXPECT_EQ(x_new, x);
    EXPECT_EQ(g_new, g0);
    EXPECT_LE(r.value_evaluations + r.gradient_evaluations, options.max_evaluations);
    EXPECT_EQ(f.counts().values, r.value_evaluations);
    EXPECT_EQ(f.counts().gradients, r.gradient_evaluations);
  }
}

TEST(LineSearch, OptionsValidityNamesTheViolatedConstraint) {
  std::string error;
  EXPECT_TRUE(LineSearchOptions{}.IsValid(&error)) << error;
  struct Case {
    void (*mutate)(LineSearchOptions*);
    const char* expected;
  };
  const Case cases[] = {
      {[](LineSearchOptions* o) { o->c1 = 0.0; }, "c1 must be > 0"},
      {[](LineSearchOptions* o) { o->c1 = NAN; }, "c1 must be > 0"},
      {[](LineSearchOptions* o) { o->c1 = 0.2; }, "0 < c1 < c2 < 1"},
      {[](LineSearchOptions* o) { o->c2 = 1.0; }, "c2 must be < 1"},
      {[](LineSearchOptions* o) { o->hz_delta = 0.5; }, "hz_delta"},
      {[](LineSearchOptions* o) { o->hz_sigma = 0.05; }, "hz_sigma"},
      {[](LineSearchOptions* o) { o->hz_epsilon = -1.0; }, "hz_epsilon"},
      {[](LineSearchOptions* o) { o->hz_theta = 1.0; }, "hz_theta"},
      {[](LineSearchOptions* o) { o->hz_gamma = 0.0; }, "hz_gamma"},
      {[](LineSearchOptions* o) { o->golden_tolerance = 0.0; }, "golden_tolerance"},
      {[](LineSearchOptions* o) { o->max_evaluations = 0; }, "max_evaluations"},
      {[](LineSearchOptions* o) { o->max_step_factor = 0.5; }, "max_step_factor"},
  };
  for (const Case& c : cases) {
    LineSearchOptions options;
    c.mutate(&options);
    error.clear();
    EXPECT_FALSE(options.IsValid(&error)) << c.expected;
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }
  // LineSearch refuses invalid options without evaluating.
  TestProblem p = MakeProblem("rosenbrock");
  std::vector<float> g0(2), d(2), x_new(2), g_new(2);
  const double f0 = p.objective->ValueAndGradient(p.start.data(), g0.data());
  d = {-g0[0], -g0[1]};
  LineSearchOptions bad;
  bad.c1 = 0.5;
  p.objective->ResetCounts();
  const LineSearchResult r = LineSearch(p.objective.get(), p.start.data(), f0, g0.data(), d.data(),
                                        1e-3, bad, x_new.data(), g_new.data());
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.message.find("invalid options"), std::string::npos) << r.message;
  EXPECT_EQ(p.objective->counts().gradients, 0);
  EXPECT_EQ(x_new, p.start);
}

TEST(LineSearch, KindAndStatusNames) {
  for (LineSearchKind kind : kKinds) {
    LineSearchKind parsed;
    std::string error;
    EXPECT_TRUE(ParseLineSearchKind(LineSearchKindName(kind), &parsed, &error)) << error;
    EXPECT_EQ(parsed, kind);
  }
  EXPECT_EQ(LineSearchKindName(LineSearchKind::kStrongWolfe), "strong-wolfe");
  LineSearchKind parsed;
  std::string error;
  EXPECT_FALSE(ParseLineSearchKind("wolfe", &parsed, &error));
  EXPECT_NE(error.find("'wolfe'"), std::string::npos) << error;
  EXPECT_NE(error.find("hager-zhang"), std::string::npos) << error;
  EXPECT_EQ(LineSearchStatusName(LineSearchStatus::kSuccess), "success");
  EXPECT_EQ(LineSearchStatusName(LineSearchStatus::kNoDecrease), "no-decrease");
  EXPECT_EQ(LineSearchStatusName(LineSearchStatus::kNonFinite), "non-finite");
  EXPECT_EQ(LineSearchStatusName(LineSearchStatus::kEvaluationLimit), "evaluation-limit");
  EXPECT_EQ(LineSearchStatusName(LineSearchStatus::kNotDescent), "not-descent");
}

}  // namespace
}  // namespace twophase
