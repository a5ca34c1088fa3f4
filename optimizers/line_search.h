// Line searches along a descent direction d from x:
//   phi(alpha) = f(x + alpha d),  phi(0) = f0,  phi'(0) = g0 . d < 0.
//
// Three kinds:
//  - kGolden: bracketing (Numerical Recipes' mnbrak: golden-ratio expansion
//    with parabolic extrapolation) then golden-section search, derivative-
//    free -- the paper's "golden" line search (Press et al. 1992, sec. 10.1
//    and 10.2), the paper-faithful setting. Ends with the gradient at the
//    accepted point (one extra gradient evaluation).
//  - kStrongWolfe: find alpha with
//      phi(alpha) <= phi(0) + c1 alpha phi'(0)         (sufficient decrease)
//      |phi'(alpha)| <= c2 |phi'(0)|                    (curvature)
//    by bracketing and zoom with safeguarded cubic/quadratic interpolation
//    (Nocedal & Wright 2006, Alg. 3.5/3.6; More & Thuente 1994 quality).
//  - kHagerZhang: approximate Wolfe conditions (Hager & Zhang 2005, 2006;
//    CG_DESCENT): (2 delta - 1) phi'(0) >= phi'(alpha) >= sigma phi'(0) and
//    phi(alpha) <= phi(0) + eps |phi(0)|, with the secant^2 bracket updates.
//
// Every search returns a typed result; on failure (no decrease found, a
// NaN/Inf met, the evaluation limit reached) the returned point is the best
// one seen -- x itself when nothing was better -- and never a NaN point.
#ifndef TWOPHASE_OPTIMIZERS_LINE_SEARCH_H_
#define TWOPHASE_OPTIMIZERS_LINE_SEARCH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "optimizers/objective.h"

namespace twophase {

enum class LineSearchKind { kGolden, kStrongWolfe, kHagerZhang };

// "golden", "strong-wolfe", "hager-zhang".
bool ParseLineSearchKind(std::string_view name, LineSearchKind* kind, std::string* error);
std::string LineSearchKindName(LineSearchKind kind);
// "golden, strong-wolfe, hager-zhang" (for help texts and listings).
std::string KnownLineSearchKinds();

struct LineSearchOptions {
  LineSearchKind kind = LineSearchKind::kStrongWolfe;
  // Wolfe constants; c2 = 0.1 is the usual choice for nonlinear CG
  // (Nocedal & Wright), 0 < c1 < c2 < 1.
  double c1 = 1e-4;
  double c2 = 0.1;
  // Hager-Zhang: delta (= c1 role), sigma (= c2 role), epsilon (relative
  // tolerance of the approximate Wolfe value test), theta (bisection
  // point), gamma (required interval shrink per secant^2 step).
  double hz_delta = 0.1;
  double hz_sigma = 0.9;
  double hz_epsilon = 1e-6;
  double hz_theta = 0.5;
  double hz_gamma = 0.66;
  // Golden section: stop when the bracket is below tolerance relative to
  // the step (NR's tol; sqrt of float32 epsilon is the sensible floor).
  double golden_tolerance = 1e-3;
  // Evaluations of f (value-only or with gradient) one search may spend.
  int max_evaluations = 30;
  // Largest step considered, relative to the initial step.
  double max_step_factor = 1e10;

  bool IsValid(std::string* error) const;
};

enum class LineSearchStatus {
  kSuccess,          // the search's conditions hold at the returned step
  kNoDecrease,       // no point with f < f0 found
  kNonFinite,        // f or its gradient was NaN/Inf at a probe (not returned)
  kEvaluationLimit,  // limit reached; best point so far returned
  kNotDescent,       // phi'(0) >= 0: nothing to search
};
std::string LineSearchStatusName(LineSearchStatus status);

struct LineSearchResult {
  LineSearchStatus status = LineSearchStatus::kSuccess;
  double step = 0.0;        // alpha of the returned point (0: x itself)
  double value = 0.0;       // f at the returned point
  double derivative = 0.0;  // phi'(step) = g_new . d
  int value_evaluations = 0;
  int gradient_evaluations = 0;
  std::string message;  // what happened, for the Summary

  bool ok() const { return status == LineSearchStatus::kSuccess; }
};

// A value-only evaluation phi(step) = f(x + step d) the caller already made
// along this line (CG's QuadStep probe). The strong Wolfe search uses it in
// its first interpolation; the other searches ignore it. It is not counted
// in the result's evaluations (the caller counted it).
struct LineValueProbe {
  double step = 0.0;
  double value = 0.0;
};

// Searches from x (n = f->size() entries) along d, given f0 = f(x),
// g0 = grad f(x) and an initial trial step > 0. On return x_new holds
// x + step * d and g_new the gradient there (both valid whatever the
// status: x and g0 when step is 0). x_new/g_new must not alias x/g0.
// `probe`, when not null, is a value-only point already evaluated on the
// line (see LineValueProbe); a non-finite or non-positive one is ignored.
LineSearchResult LineSearch(Objective* f, const float* x, double f0, const float* g0,
                            const float* d, double initial_step, const LineSearchOptions& options,
                            float* x_new, float* g_new, const LineValueProbe* probe = nullptr);

}  // namespace twophase

#endif  // TWOPHASE_OPTIMIZERS_LINE_SEARCH_H_
