// Hager-Zhang line search: the line search of CG_DESCENT.
//
// W. W. Hager, H. Zhang (2005), "A new conjugate gradient method with
// guaranteed descent and an efficient line search", SIAM J. Optim. 16(1),
// 170-192, section 4; and (2006), "Algorithm 851: CG_DESCENT, a conjugate
// gradient method with guaranteed descent", ACM TOMS 32(1), 113-137.
//
// A step c is accepted when it satisfies the Wolfe conditions
//   (T1)  phi(c) - phi(0) <= delta c phi'(0)  and  phi'(c) >= sigma phi'(0)
// or the approximate Wolfe conditions
//   (T2)  (2 delta - 1) phi'(0) >= phi'(c) >= sigma phi'(0)  and
//         phi(c) <= phi(0) + eps_k,   eps_k = epsilon |phi(0)|.
// T2 replaces the sufficient decrease test, whose difference
// phi(c) - phi(0) is lost to rounding near a minimum, by a test on
// derivatives, which stay accurate (HZ 2005 sec. 4: for a quadratic, T2's
// first inequality is sufficient decrease with delta). So phi(c) may exceed
// phi(0) by up to eps_k.
//
// The search keeps an interval [a, b] with phi'(a) < 0, phi(a) <= phi(0) +
// eps_k and phi'(b) >= 0 (so it contains a point satisfying T2), built by
//   bracket (B0-B3): c_{j+1} = rho c_j (rho = 5) while phi' < 0 and
//     phi <= phi(0) + eps_k; stop at the first phi' >= 0 ([c_{j-1}, c_j])
//     or at a value above phi(0) + eps_k (then U3 below on [c_{j-1}, c_j]);
// and shrunk by
//   update (U0-U3) with a new point c in (a, b): phi'(c) >= 0 -> [a, c];
//     phi'(c) < 0, phi(c) <= phi(0) + eps_k -> [c, b]; otherwise (U3)
//     bisect [a, c] at d = (1 - theta) a + theta c until phi'(d) >= 0,
//     moving a or the right end to d;
//   secant^2 (S1-S4): c = secant(a, b) = (a phi'(b) - b phi'(a)) /
//     (phi'(b) - phi'(a)); [A, B] = update(a, b, c); if c became A or B, a
//     second secant step from the matching old end, then update again;
//   and, when secant^2 shrank the interval by less than the factor gamma, a
//     bisection step update(A, B, (A + B) / 2)  (L1-L3).
// Every probe evaluates phi and phi' (one ValueAndGradient), and each is
// tested against T1 and T2 at once.
//
// Robustness additions: a NaN/Inf probe is treated as a point of too high a
// value (it triggers the U3 bisection towards the last good point, i.e.
// halving the step); the bracketing steps stop at max_step_factor times the
// initial step; the search stops when [a, b] is below float32 resolution.
#include <algorithm>
#include <cmath>
#include <string>

#include "optimizers/line_search.h"
#include "optimizers/line_search_internal.h"

namespace twophase {
namespace line_search_internal {
namespace {

constexpr double kExpansion = 5.0;   // rho of CG_DESCENT's bracket
constexpr int kMaxIterations = 200;  // a safety net; the budget ends searches first

enum class Outcome { kContinue, kAccepted, kStop };

class HagerZhang {
 public:
  HagerZhang(LineFunction* phi, const LineSearchOptions& options, double max_step)
      : phi_(phi),
        options_(options),
        max_step_(max_step),
        f0_(phi->f0()),
        g0_(phi->slope0()),
        f_bound_(phi->f0() + options.hz_epsilon * std::fabs(phi->f0())) {}

  LineSearchResult Run(double c) {
    LineSearchResult result;
    LinePoint a, b;
    Outcome outcome = Bracket(c, &a, &b);
    for (int iteration = 0; outcome == Outcome::kContinue; ++iteration) {
      if (iteration >= kMaxIterations) {
        stop_reason_ = "iteration limit";
        outcome = Outcome::kStop;
        break;
      }
      if (phi_->BelowResolution(a.alpha, b.alpha)) {
        stop_reason_ = "the interval [" + FormatNumber(a.alpha) + ", " + FormatNumber(b.alpha) +
                       "] is below float32 resolution";
        outcome = Outcome::kStop;
        break;
      }
      LinePoint na, nb;
      outcome = Secant2(a, b, &na, &nb);  // L1
      if (outcome != Outcome::kContinue) break;
      if (nb.alpha - na.alpha > options_.hz_gamma * (b.alpha - a.alpha)) {  // L2
        LinePoint ma, mb;
        outcome = Update(na, nb, 0.5 * (na.alpha + nb.alpha), &ma, &mb);
        if (outcome != Outcome::kContinue) break;
        na = ma;
        nb = mb;
      }
      a = na;  // L3
      b = nb;
    }
    if (outcome == Outcome::kAccepted) {
      phi_->ReturnLastProbe(&result);
      result.status = LineSearchStatus::kSuccess;
      result.message = std::string(accepted_by_wolfe_ ? "Wolfe" : "approximate Wolfe") +
                       " conditions hold at step " + FormatNumber(result.step) + " after " +
                       std::to_string(phi_->evaluations()) + " evaluation(s)";
      if (phi_->nonfinite_probes() > 0) {
        result.message += "; " + std::to_string(phi_->nonfinite_probes()) +
                          " probe(s) gave non-finite f or gradient (NaN/Inf) and the step was "
                          "shortened";
      }
      return result;
    }
    phi_->ReturnBest(&result);
    SetFailure(*phi_, LineSearchStatus::kEvaluationLimit, "Hager-Zhang: " + stop_reason_, &result);
    return result;
  }

 private:
  // T1 or T2 at p (finite).
  bool Acceptable(const LinePoint& p) {
    const double delta = options_.hz_delta, sigma = options_.hz_sigma;
    if (p.slope < sigma * g0_) return false;  // common curvature part
    if (p.value - f0_ <= delta * p.alpha * g0_) {
      accepted_by_wolfe_ = true;
      return true;
    }
    if ((2.0 * delta - 1.0) * g0_ >= p.slope && p.value <= f_bound_) {
      accepted_by_wolfe_ = false;
      return true;
    }
    return false;
  }

  Outcome Evaluate(double c, LinePoint* p) {
    if (phi_->evaluations_left() <= 0) {
      stop_reason_ = "evaluation limit (" + std::to_string(options_.max_evaluations) +
                     ") reached before the (approximate) Wolfe conditions held";
      return Outcome::kStop;
    }
    *p = phi_->Probe(c);
    if (p->finite && Acceptable(*p)) return Outcome::kAccepted;
    return Outcome::kContinue;
  }

  // A point that may serve as the left end: phi' < 0, phi <= phi(0) + eps_k.
  bool IsLow(const LinePoint& p) const { return p.finite && p.slope < 0.0 && p.value <= f_bound_; }

  // U3: bisect [a, right] (the right end is known only to be too high or
  // non-finite) until a point with phi' >= 0 is found.
  Outcome Bisect(LinePoint a, double right, LinePoint* na, LinePoint* nb) {
    while (true) {
      if (phi_->BelowResolution(a.alpha, right)) {
        stop_reason_ = "bisection reached float32 resolution at step " + FormatNumber(a.alpha) +
                       " (f above f0 + eps or non-finite beyond it)";
        return Outcome::kStop;
      }
      const double d = (1.0 - options_.hz_theta) * a.alpha + options_.hz_theta * right;
      LinePoint p;
      const Outcome outcome = Evaluate(d, &p);
      if (outcome != Outcome::kContinue) return outcome;
      if (p.finite && p.slope >= 0.0) {  // U3a
        *na = a;
        *nb = p;
        return Outcome::kContinue;
      }
      if (IsLow(p)) {  // U3b
        a = p;
      } else {  // U3c (or non-finite)
        right = d;
      }
    }
  }

  // U0-U3.
  Outcome Update(const LinePoint& a, const LinePoint& b, double c, LinePoint* na, LinePoint* nb) {
    *na = a;
    *nb = b;
    if (!(c > a.alpha && c < b.alpha)) return Outcome::kContinue;  // U0
    LinePoint p;
    const Outcome outcome = Evaluate(c, &p);
    if (outcome != Outcome::kContinue) return outcome;
    if (p.finite && p.slope >= 0.0) {  // U1
      *nb = p;
      return Outcome::kContinue;
    }
    if (IsLow(p)) {  // U2
      *na = p;
      return Outcome::kContinue;
    }
    return Bisect(a, c, na, nb);  // U3
  }

  static double Secant(const LinePoint& a, const LinePoint& b) {
    const double c = (a.alpha * b.slope - b.alpha * a.slope) / (b.slope - a.slope);
    return std::isfinite(c) ? c : 0.5 * (a.alpha + b.alpha);
  }

  // S1-S4.
  Outcome Secant2(const LinePoint& a, const LinePoint& b, LinePoint* na, LinePoint* nb) {
    const double c = Secant(a, b);
    LinePoint A, B;
    Outcome outcome = Update(a, b, c, &A, &B);  // S1
    if (outcome != Outcome::kContinue) return outcome;
    *na = A;
    *nb = B;
    double cbar;
    if (c == B.alpha) {
      cbar = Secant(b, B);  // S2
    } else if (c == A.alpha) {
      cbar = Secant(a, A);  // S3
    } else {
      return Outcome::kContinue;
    }
    return Update(A, B, cbar, na, nb);  // S4
  }

  // B0-B3 from the initial step c.
  Outcome Bracket(double c, LinePoint* a, LinePoint* b) {
    LinePoint previous = phi_->origin();
    while (true) {
      LinePoint p;
      const Outcome outcome = Evaluate(c, &p);
      if (outcome != Outcome::kContinue) return outcome;
      if (p.finite && p.slope >= 0.0) {  // B1
        *a = previous;
        *b = p;
        return Outcome::kContinue;
      }
      if (!IsLow(p)) return Bisect(previous, c, a, b);  // B2 (or non-finite)
      // B3: still descending below phi(0) + eps_k: expand.
      if (c >= max_step_) {
        stop_reason_ =
            "step reached its cap max_step_factor * initial step = " + FormatNumber(max_step_) +
            " with f still decreasing";
        return Outcome::kStop;
      }
      previous = p;
      c = std::min(kExpansion * c, max_step_);
    }
  }

  LineFunction* phi_;
  const LineSearchOptions& options_;
  double max_step_;
  double f0_;
  double g0_;
  double f_bound_;  // phi(0) + eps_k
  bool accepted_by_wolfe_ = false;
  std::string stop_reason_;
};

}  // namespace

LineSearchResult HagerZhangSearch(LineFunction* phi, double initial_step,
                                  const LineSearchOptions& options) {
  HagerZhang search(phi, options, initial_step * options.max_step_factor);
  return search.Run(initial_step);
}

}  // namespace line_search_internal
}  // namespace twophase
