// Golden-section line search, the paper's "golden" search: Numerical
// Recipes' bracketing (mnbrak) and golden-section search (golden),
// W. H. Press, S. A. Teukolsky, W. T. Vetterling, B. P. Flannery (1992),
// "Numerical Recipes in C", 2nd ed., sections 10.1 and 10.2. Derivative-
// free: every probe is a value-only evaluation; one ValueAndGradient at the
// accepted step at the end gives the caller g_new (counted).
//
// mnbrak from a = 0 (phi(0) = f0 known) and b = initial step:
//   c = b + GOLD (b - a), GOLD = 1.618034; while phi(b) > phi(c): the
//   minimiser u of the parabola through a, b, c (limited to
//   b + GLIMIT (c - b), GLIMIT = 100); u between b and c ends the search
//   if it brackets, u beyond c is accepted or followed by a golden step,
//   and otherwise c + GOLD (c - b) is tried; the triple shifts forward.
// NR's mnbrak swaps a and b when phi(b) > phi(a) and then searches the
// negative half-line. Here phi'(0) < 0 is known, so a minimiser lies at a
// positive step: instead the step is contracted, b <- (1 - 0.618) b, until
// phi(b) < phi(0), and (0, b, old b) is the bracket.
//
// golden: keep x0 < x1 < x2 < x3 with the lower of phi(x1), phi(x2) inside,
// drop the outer segment beyond the higher one, and place the new point
// at the golden ratio R = 0.618034 of the larger segment, until
// |x3 - x0| <= tol (|x1| + |x2|) (NR's relative tolerance;
// golden_tolerance). The step is the lower of x1, x2.
//
// Non-finite values count as +infinity: the comparisons then move the
// bracket away from them (NaN/Inf beyond some step shrinks the step), and
// mnbrak's parabola only ever uses finite values (it runs while
// phi(c) < phi(b)). The steps stop at max_step_factor times the initial
// step, and the search ends early when x1 and x2 are within float32
// resolution of each other.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "optimizers/line_search.h"
#include "optimizers/line_search_internal.h"

namespace twophase {
namespace line_search_internal {
namespace {

constexpr double kGold = 1.618034;    // NR: GOLD, the golden ratio
constexpr double kGrowLimit = 100.0;  // NR: GLIMIT
constexpr double kTiny = 1e-20;       // NR: TINY
constexpr double kR = 0.61803399;     // NR: R = GOLD - 1
constexpr double kC = 1.0 - kR;       // NR: C
constexpr double kInfinity = std::numeric_limits<double>::infinity();

class Golden {
 public:
  Golden(LineFunction* phi, const LineSearchOptions& options, double max_step)
      : phi_(phi),
        options_(options),
        max_step_(max_step),
        value_budget_(options.max_evaluations - 1) {}

  LineSearchResult Run(double initial_step) {
    const bool bracketed = Bracket(std::min(initial_step, max_step_));
    bool converged = false;
    if (bracketed) converged = Section();
    LineSearchResult result;
    if (!(best_value_ < phi_->f0())) {
      phi_->ReturnBest(&result);  // x itself
      SetFailure(*phi_, LineSearchStatus::kNoDecrease, "golden: " + stop_reason_, &result);
      return result;
    }
    // The gradient at the accepted step (the budget kept one evaluation).
    const LinePoint p = phi_->Probe(best_alpha_);
    if (!p.finite) {
      phi_->ReturnBest(&result);
      result.status = LineSearchStatus::kNonFinite;
      result.message = "golden: f or the gradient is non-finite at the accepted step " +
                       FormatNumber(best_alpha_) + " (f was " + FormatNumber(best_value_) +
                       " without the gradient); returning x";
      return result;
    }
    phi_->ReturnLastProbe(&result);
    std::string nonfinite;
    if (phi_->nonfinite_probes() > 0) {
      nonfinite = "; " + std::to_string(phi_->nonfinite_probes()) +
                  " probe(s) gave a non-finite f (NaN/Inf), treated as +Inf";
    }
    if (converged) {
      result.status = LineSearchStatus::kSuccess;
      result.message = "golden section converged at step " + FormatNumber(result.step) + " after " +
                       std::to_string(phi_->evaluations()) + " evaluation(s)" + nonfinite;
    } else {
      result.status = LineSearchStatus::kEvaluationLimit;
      result.message = "golden: " + stop_reason_ + "; returning the best step " +
                       FormatNumber(result.step) + nonfinite;
    }
    return result;
  }

 private:
  // phi(alpha), non-finite as +Inf; false when the value budget is spent.
  bool Value(double alpha, double* f) {
    if (phi_->value_evaluations() >= value_budget_) {
      stop_reason_ = "evaluation limit (" + std::to_string(options_.max_evaluations) +
                     ", one kept for the final gradient) reached";
      return false;
    }
    const double v = phi_->ProbeValue(alpha);
    *f = std::isfinite(v) ? v : kInfinity;
    if (*f < best_value_) {
      best_value_ = *f;
      best_alpha_ = alpha;
    }
    return true;
  }

  // Sets the bracket a < b < c with phi(b) < phi(a), phi(b) <= phi(c).
  bool Bracket(double step) {
    a_ = 0.0;
    fa_ = phi_->f0();
    b_ = step;
    if (!Value(b_, &fb_)) return false;
    if (!(fb_ < fa_)) {
      // Contract towards 0 until phi(b) < phi(0).
      while (!(fb_ < fa_)) {
        c_ = b_;
        fc_ = fb_;
        b_ = kC * c_;
        if (phi_->BelowResolution(0.0, b_)) {
          stop_reason_ = "f does not decrease along d down to float32 resolution";
          return false;
        }
        if (!Value(b_, &fb_)) return false;
      }
      return true;
    }
    // NR mnbrak, forward from (0, b).
    c_ = std::min(b_ + kGold * (b_ - a_), max_step_);
    if (!Value(c_, &fc_)) return false;
    while (fb_ > fc_) {
      if (c_ >= max_step_) {
        stop_reason_ =
            "step reached its cap max_step_factor * initial step = " + FormatNumber(max_step_) +
            " with f still decreasing";
        return false;
      }
      const double r = (b_ - a_) * (fb_ - fc_);
      const double q = (b_ - c_) * (fb_ - fa_);
      const double qr = std::max(std::fabs(q - r), kTiny);
      double u = b_ - ((b_ - c_) * q - (b_ - a_) * r) / (2.0 * std::copysign(qr, q - r));
      const double ulim = std::min(b_ + kGrowLimit * (c_ - b_), max_step_);
      double fu;
      if ((b_ - u) * (u - c_) > 0.0) {
        // Parabolic u between b and c.
        if (!Value(u, &fu)) return false;
        if (fu < fc_) {  // minimum between b and c
          a_ = b_;
          fa_ = fb_;
          b_ = u;
          fb_ = fu;
          return true;
        }
        if (fu > fb_) {  // minimum between a and u
          c_ = u;
          fc_ = fu;
          return true;
        }
        u = std::min(c_ + kGold * (c_ - b_), max_step_);  // parabola useless
        if (!Value(u, &fu)) return false;
      } else if ((c_ - u) * (u - ulim) > 0.0) {
        // Parabolic u between c and its limit.
        if (!Value(u, &fu)) return false;
        if (fu < fc_) {
          b_ = c_;
          c_ = u;
          u = std::min(c_ + kGold * (c_ - b_), max_step_);
          fb_ = fc_;
          fc_ = fu;
          if (!Value(u, &fu)) return false;
        }
      } else if ((u - ulim) * (ulim - c_) >= 0.0) {
        u = ulim;  // limit the parabolic u to its maximum
        if (!Value(u, &fu)) return false;
      } else {
        u = std::min(c_ + kGold * (c_ - b_), max_step_);  // reject parabolic u
        if (!Value(u, &fu)) return false;
      }
      a_ = b_;
      b_ = c_;
      c_ = u;
      fa_ = fb_;
      fb_ = fc_;
      fc_ = fu;
    }
    return true;
  }

  // NR golden on (a, b, c); true when the tolerance (or float32
  // resolution) was reached.
  bool Section() {
    double x0 = a_, x3 = c_, x1, x2, f1, f2;
    if (std::fabs(c_ - b_) > std::fabs(b_ - a_)) {
      x1 = b_;
      f1 = fb_;
      x2 = b_ + kC * (c_ - b_);
      if (!Value(x2, &f2)) return false;
    } else {
      x2 = b_;
      f2 = fb_;
      x1 = b_ - kC * (b_ - a_);
      if (!Value(x1, &f1)) return false;
    }
    while (std::fabs(x3 - x0) > options_.golden_tolerance * (std::fabs(x1) + std::fabs(x2))) {
      if (phi_->BelowResolution(x1, x2)) return true;
      if (f2 < f1) {
        x0 = x1;
        x1 = x2;
        x2 = kR * x2 + kC * x3;
        f1 = f2;
        if (!Value(x2, &f2)) return false;
      } else {
        x3 = x2;
        x2 = x1;
        x1 = kR * x1 + kC * x0;
        f2 = f1;
        if (!Value(x1, &f1)) return false;
      }
    }
    return true;
  }

  LineFunction* phi_;
  const LineSearchOptions& options_;
  double max_step_;
  int value_budget_;
  double a_ = 0.0, b_ = 0.0, c_ = 0.0;
  double fa_ = 0.0, fb_ = 0.0, fc_ = 0.0;
  double best_alpha_ = 0.0;
  double best_value_ = kInfinity;
  std::string stop_reason_;
};

}  // namespace

LineSearchResult GoldenSearch(LineFunction* phi, double initial_step,
                              const LineSearchOptions& options) {
  Golden search(phi, options, initial_step * options.max_step_factor);
  return search.Run(initial_step);
}

}  // namespace line_search_internal
}  // namespace twophase
