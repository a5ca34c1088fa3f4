// Strong Wolfe line search: find alpha > 0 with
//   phi(alpha) <= phi(0) + c1 alpha phi'(0)        (sufficient decrease)
//   |phi'(alpha)| <= c2 |phi'(0)|                   (curvature)
//
// The structure is that of Nocedal & Wright (2006), Algorithm 3.5
// (bracketing: trial steps grow until the interval [alpha_lo, alpha_hi]
// is known to contain acceptable points) and Algorithm 3.6 (zoom: shrink
// that interval by interpolation). Trial steps are chosen, and both phases
// safeguarded, as in More & Thuente (1994), "Line search algorithms with
// guaranteed sufficient decrease", ACM TOMS 20(3), 286-307, sections 2-4,
// in the form of MINPACK-2's dcsrch/dcstep (More, Thuente, Averick 1993):
//  - the interval of uncertainty has ends stx (the best step so far, the
//    "alpha_lo" of N&W) and sty; a new trial is the minimiser of a cubic
//    (or quadratic/secant) interpolant, chosen by the four cases of
//    MT section 4 and computed in the overflow-safe form of dcstep;
//  - bracketing phase: the next trial lies in
//      [alpha + 1.1 (alpha - stx), alpha + 4 (alpha - stx)]
//    (extrapolation by at least a factor, at most 4x the last interval),
//    never beyond max_step_factor * initial_step;
//  - zoom phase: a trial from case 3 stays within 0.66 of the way to the
//    far end; if two trials fail to shrink the interval by 0.66, the next
//    one bisects it (MT section 4, last paragraph);
//  - while no trial has satisfied sufficient decrease with phi' >= 0, the
//    interpolation uses psi(alpha) = phi(alpha) - phi(0) - c1 alpha phi'(0)
//    (MT section 3), so that the search does not settle on a point of
//    insufficient decrease.
// Every probe evaluates f and g (ValueAndGradient): phi' = g . d is needed
// both for the curvature test and for the cubic. The initial trial step is
// accepted at once when it satisfies both conditions.
//
// Additions for float32 points and robustness:
//  - a NaN/Inf probe is not used for interpolation: the step is halved
//    towards stx and steps at or beyond the failed one are avoided from then
//    on;
//  - the search stops when [stx, sty] is below the float32 resolution of
//    x + alpha d (no point strictly inside can be told apart), or when
//    three probes in a row inside the bracket return exactly f(stx) (f flat
//    to double precision: some coordinates of x + alpha d no longer move,
//    while phi' = g . d still counts them -- Brown's badly scaled function
//    does this), returning the best point seen;
//  - steps never exceed max_step_factor * initial step; pinned there with f
//    still decreasing, the search stops.
// A search that stops without both conditions reports kEvaluationLimit
// (budget, resolution, cap) when it found a point below f0, else
// kNoDecrease, or kNonFinite when a probe was NaN/Inf.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "optimizers/line_search.h"
#include "optimizers/line_search_internal.h"

namespace twophase {
namespace line_search_internal {
namespace {

// MINPACK-2's constants: extrapolation bounds of the bracketing phase and
// the required shrink of the zoom phase.
constexpr double kExtrapolateLower = 1.1;
constexpr double kExtrapolateUpper = 4.0;
constexpr double kShrink = 0.66;
// Consecutive bracketed probes with f exactly f(stx) after which the search
// gives up (see below).
constexpr int kMaxFlatProbes = 3;
// Case 3 without a cubic minimiser beyond the trial: the next trial is this
// multiple of the secant step (see SafeguardedStep).
constexpr double kSecantExtrapolation = 2.0;
// The caller's value-only probe is used when |phi(t) - phi(0)| and
// |phi(trial) - phi(0)| are at least this multiple of the value noise.
constexpr double kProbeNoiseRatio = 100.0;

struct End {
  double alpha;
  double f;
  double g;
};

double MaxAbs(double a, double b, double c) {
  return std::max({std::fabs(a), std::fabs(b), std::fabs(c)});
}

// One update of the interval of uncertainty and the next trial step:
// More & Thuente (1994) section 4, as in MINPACK-2 dcstep. x is the best
// end (stx), y the other (sty), t the trial just evaluated; lo/hi bound the
// new step. Returns the new trial step; updates x, y and *bracketed.
double SafeguardedStep(End* x, End* y, const End& t, bool* bracketed, double lo, double hi) {
  const double stx = x->alpha, fx = x->f, dx = x->g;
  const double stp = t.alpha, fp = t.f, dp = t.g;
  // The sign of dp relative to dx (dx != 0 is an invariant: dx (stp - stx)
  // < 0 at stx, MT section 2).
  const double sgnd = dp * (dx / std::fabs(dx));
  double stpf;
  if (fp > fx) {
    // Case 1: higher value; a minimiser is bracketed. The cubic step stpc
    // (the minimiser of the cubic through fx, dx, fp, dp) is taken if it is
    // closer to stx than the quadratic step stpq (through fx, dx, fp),
    // otherwise their average.
    const double theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
    const double s = MaxAbs(theta, dx, dp);
    double gamma = s * std::sqrt(std::max(0.0, (theta / s) * (theta / s) - (dx / s) * (dp / s)));
    if (stp < stx) gamma = -gamma;
    const double p = (gamma - dx) + theta;
    const double q = ((gamma - dx) + gamma) + dp;
    const double r = p / q;
    const double stpc = stx + r * (stp - stx);
    const double stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx);
    stpf = std::fabs(stpc - stx) < std::fabs(stpq - stx) ? stpc : stpc + (stpq - stpc) / 2.0;
    *bracketed = true;
  } else if (sgnd < 0.0) {
    // Case 2: lower value, derivatives of opposite sign; bracketed. Take the
    // cubic step if it is farther from stp than the secant step.
    const double theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
    const double s = MaxAbs(theta, dx, dp);
    double gamma = s * std::sqrt(std::max(0.0, (theta / s) * (theta / s) - (dx / s) * (dp / s)));
    if (stp > stx) gamma = -gamma;
    const double p = (gamma - dp) + theta;
    const double q = ((gamma - dp) + gamma) + dx;
    const double r = p / q;
    const double stpc = stp + r * (stx - stp);
    const double stpq = stp + (dp / (dp - dx)) * (stx - stp);
    stpf = std::fabs(stpc - stp) > std::fabs(stpq - stp) ? stpc : stpq;
    *bracketed = true;
  } else if (std::fabs(dp) < std::fabs(dx)) {
    // Case 3: lower value, same-sign derivatives, |phi'| decreasing. The
    // cubic step is used only if the cubic tends to infinity in the
    // direction of the step or its minimum is beyond stp; otherwise the step
    // goes to the bound.
    const double theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
    const double s = MaxAbs(theta, dx, dp);
    double gamma = s * std::sqrt(std::max(0.0, (theta / s) * (theta / s) - (dx / s) * (dp / s)));
    if (stp > stx) gamma = -gamma;
    const double p = (gamma - dp) + theta;
    const double q = (gamma + (dx - dp)) + gamma;
    const double r = p / q;
    double stpc;
    if (r < 0.0 && gamma != 0.0) {
      stpc = stp + r * (stx - stp);
    } else {
      stpc = stp > stx ? hi : lo;
    }
    const double stpq = stp + (dp / (dp - dx)) * (stx - stp);
    if (*bracketed) {
      // The step closer to stp, but at most 0.66 of the way to sty.
      stpf = std::fabs(stpc - stp) < std::fabs(stpq - stp) ? stpc : stpq;
      if (stp > stx) {
        stpf = std::min(stp + kShrink * (y->alpha - stp), stpf);
      } else {
        stpf = std::max(stp + kShrink * (y->alpha - stp), stpf);
      }
    } else {
      // Extrapolation: the step farther from stp, within [lo, hi].
      stpf = std::fabs(stpc - stp) > std::fabs(stpq - stp) ? stpc : stpq;
      // Addition to dcstep: when the cubic has no minimiser beyond stp (it
      // would send the step to the bound, 5x the last interval on the first
      // extrapolation), go to twice the secant step instead: phi' is still
      // decreasing in magnitude, and the bound overshoots a minimiser that
      // the secant places much nearer (quartic-like valleys).
      if (!(r < 0.0 && gamma != 0.0) && std::isfinite(stpq) && (stpq - stp) * (stp - stx) > 0.0) {
        stpf = stp + kSecantExtrapolation * (stpq - stp);
      }
      stpf = std::max(lo, std::min(hi, stpf));
    }
  } else {
    // Case 4: lower value, same-sign derivatives, |phi'| not decreasing.
    // Bracketed: minimiser of the cubic through stp and sty. Otherwise the
    // step goes to the bound.
    if (*bracketed) {
      const double sty = y->alpha, fy = y->f, dy = y->g;
      const double theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp;
      const double s = MaxAbs(theta, dy, dp);
      double gamma = s * std::sqrt(std::max(0.0, (theta / s) * (theta / s) - (dy / s) * (dp / s)));
      if (stp > sty) gamma = -gamma;
      const double p = (gamma - dp) + theta;
      const double q = ((gamma - dp) + gamma) + dy;
      const double r = p / q;
      stpf = stp + r * (sty - stp);
    } else {
      stpf = stp > stx ? hi : lo;
    }
  }
  // The new interval of uncertainty (MT's updating algorithm, section 2).
  if (fp > fx) {
    *y = t;
  } else {
    if (sgnd < 0.0) *y = *x;
    *x = t;
  }
  // Degenerate interpolation data (equal points, zero slopes): fall back
  // to bisection or to the bound rather than return NaN.
  if (!std::isfinite(stpf)) {
    stpf = *bracketed ? 0.5 * (x->alpha + y->alpha) : hi;
  }
  return stpf;
}

// The lowest local minimiser in (lo, hi) of the quartic
//   q(a) = f0 + g0 a + c2 a^2 + c3 a^3 + c4 a^4
// that also matches phi(t) = ft (a value-only probe) and phi(s) = fs,
// phi'(s) = gs (a gradient probe): five conditions, all the information
// the search has after its first trial when the caller's QuadStep probe is
// passed in. NaN when the fit is degenerate (t too close to 0 or s) or q
// has no local minimiser strictly inside (lo, hi). Along a line, a
// quadratic or quartic f (least squares, Rosenbrock-type valleys) is
// reproduced exactly, where the cubic of phi(0), phi'(0), phi(s), phi'(s)
// alone is not.
double QuarticMinimizer(double f0, double g0, double t, double ft, double s, double fs, double gs,
                        double lo, double hi) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  if (!(s > 0.0) || !(t > 0.0) || !(lo < hi) || !std::isfinite(ft)) return kNaN;
  // In u = a / s: q(u) = f0 + G0 u + C2 u^2 + C3 u^3 + C4 u^4 with
  //   C2 tau^2 + C3 tau^3 + C4 tau^4 = r1    (phi(t), tau = t / s)
  //   C2 + C3 + C4 = r2                      (phi(s))
  //   2 C2 + 3 C3 + 4 C4 = r3                (phi'(s) s)
  // whose determinant is tau^2 (1 - tau)^2.
  const double tau = t / s;
  if (std::fabs(tau * (1.0 - tau)) < 1e-3) return kNaN;
  const double g0s = g0 * s;
  const double r1 = ft - f0 - g0 * t;
  const double r2 = fs - f0 - g0s;
  const double r3 = (gs - g0) * s;
  // From rows 2 and 3, C3 = r3 - 2 r2 - 2 C4 and C2 = r2 - C3 - C4.
  // Substituting into row 1: C4 (tau^4 - 2 tau^3 + tau^2) = r1 - tau^2 r2
  //   - (tau^3 - tau^2) (r3 - 2 r2).
  const double tau2 = tau * tau, tau3 = tau2 * tau;
  const double det = tau2 * (1.0 - tau) * (1.0 - tau);
  const double c4 = (r1 - tau2 * r2 - (tau3 - tau2) * (r3 - 2.0 * r2)) / det;
  const double c3 = r3 - 2.0 * r2 - 2.0 * c4;
  const double c2 = r2 - c3 - c4;
  if (!std::isfinite(c2) || !std::isfinite(c3) || !std::isfinite(c4)) return kNaN;
  auto dq = [&](double u) { return g0s + u * (2.0 * c2 + u * (3.0 * c3 + u * 4.0 * c4)); };
  auto q = [&](double u) { return u * (g0s + u * (c2 + u * (c3 + u * c4))); };
  // q' is a cubic: scan (lo, hi) for its - to + sign changes (local minima)
  // and refine each by bisection.
  constexpr int kCells = 64;
  const double ulo = lo / s, uhi = hi / s;
  double best_u = kNaN, best_q = std::numeric_limits<double>::infinity();
  double a = ulo, da = dq(a);
  for (int i = 1; i <= kCells; ++i) {
    const double b = ulo + (uhi - ulo) * i / kCells;
    const double db = dq(b);
    if (da < 0.0 && db > 0.0) {
      double l = a, h = b;
      for (int k = 0; k < 60; ++k) {
        const double m = 0.5 * (l + h);
        (dq(m) < 0.0 ? l : h) = m;
      }
      const double u = 0.5 * (l + h);
      if (q(u) < best_q) {
        best_q = q(u);
        best_u = u;
      }
    }
    a = b;
    da = db;
  }
  return best_u * s;
}

}  // namespace

LineSearchResult StrongWolfeSearch(LineFunction* phi, double initial_step,
                                   const LineSearchOptions& options, const LineValueProbe* probe) {
  LineSearchResult result;
  const double f0 = phi->f0();
  const double g0 = phi->slope0();  // < 0
  const double gtest = options.c1 * g0;
  const double curvature = options.c2 * -g0;
  const double stpmin = 0.0;
  const double stpmax = initial_step * options.max_step_factor;

  double stp = std::min(initial_step, stpmax);
  bool bracketed = false;
  bool stage1 = true;  // interpolate psi instead of phi (MT section 3)
  // Interval widths for the bisection rule (dcsrch: width, width1).
  double width = stpmax - stpmin;
  double width1 = 2.0 * width;
  End x{0.0, f0, g0};  // stx: best step so far
  End y{0.0, f0, g0};  // sty: the other end
  double stmin = 0.0;  // bounds for the next trial
  double stmax = stp + kExtrapolateUpper * stp;
  // Steps at or beyond the smallest failed (NaN/Inf) step are avoided.
  double nonfinite_cap = std::numeric_limits<double>::infinity();
  int flat_probes = 0;  // consecutive probes in a bracket with f == f(stx)

  while (true) {
    if (phi->evaluations_left() <= 0) {
      phi->ReturnBest(&result);
      SetFailure(*phi, LineSearchStatus::kEvaluationLimit,
                 "strong Wolfe: evaluation limit (" + std::to_string(options.max_evaluations) +
                     ") reached before both conditions held",
                 &result);
      return result;
    }
    const LinePoint p = phi->Probe(stp);
    if (!p.finite) {
      // Shrink: halve the step towards the best point, and never come back
      // to or beyond this step.
      if (stp > x.alpha) nonfinite_cap = std::min(nonfinite_cap, stp);
      const double next = x.alpha + 0.5 * (stp - x.alpha);
      if (phi->BelowResolution(x.alpha, next)) {
        phi->ReturnBest(&result);
        SetFailure(*phi, LineSearchStatus::kEvaluationLimit,
                   "strong Wolfe: non-finite f or gradient at every step tried beyond " +
                       FormatNumber(x.alpha) + ", down to float32 resolution",
                   &result);
        return result;
      }
      stp = next;
      if (!bracketed) {
        stmin = std::min(stp + kExtrapolateLower * (stp - x.alpha), nonfinite_cap);
        stmax = std::min(stp + kExtrapolateUpper * (stp - x.alpha), nonfinite_cap);
      }
      continue;
    }
    const double f = p.value, g = p.slope;
    const double ftest = f0 + stp * gtest;
    if (f <= ftest && std::fabs(g) <= curvature) {
      phi->ReturnLastProbe(&result);
      result.status = LineSearchStatus::kSuccess;
      result.message = "strong Wolfe conditions hold at step " + FormatNumber(stp) + " after " +
                       std::to_string(phi->evaluations()) + " evaluation(s)";
      if (phi->nonfinite_probes() > 0) {
        result.message += "; " + std::to_string(phi->nonfinite_probes()) +
                          " probe(s) gave non-finite f or gradient (NaN/Inf) and the step was "
                          "shortened";
      }
      return result;
    }
    // Inside a bracket, probes that all return exactly f(stx) carry no
    // information in their values: f is flat to double precision there,
    // typically because x + alpha d no longer moves the coordinates that
    // matter (float32 resolution; phi' = g.d then still counts them).
    if (bracketed && f == x.f) {
      if (++flat_probes >= kMaxFlatProbes) {
        phi->ReturnBest(&result);
        SetFailure(*phi, LineSearchStatus::kEvaluationLimit,
                   "strong Wolfe: f is constant to double precision at the last " +
                       std::to_string(kMaxFlatProbes) + " probes in [" +
                       FormatNumber(std::min(x.alpha, y.alpha)) + ", " +
                       FormatNumber(std::max(x.alpha, y.alpha)) +
                       "] (float32 resolution of x + alpha d), and the curvature condition "
                       "does not hold",
                   &result);
        return result;
      }
    } else {
      flat_probes = 0;
    }
    // Enter the second stage once a step has sufficient decrease and
    // phi' >= 0 (MINPACK-2 dcsrch).
    if (stage1 && f <= ftest && g >= 0.0) stage1 = false;
    if (stp >= stpmax && f <= ftest && g <= gtest) {
      phi->ReturnBest(&result);
      SetFailure(*phi, LineSearchStatus::kEvaluationLimit,
                 "strong Wolfe: step reached its cap max_step_factor * initial step = " +
                     FormatNumber(stpmax) + " with f still decreasing",
                 &result);
      return result;
    }

    // The next trial: on psi while in the first stage and the trial has a
    // lower value than stx but not sufficient decrease, on phi otherwise.
    const End trial{stp, f, g};
    const double trial_hi = stmax;
    if (stage1 && f <= x.f && f > ftest) {
      auto to_psi = [gtest](End e) { return End{e.alpha, e.f - e.alpha * gtest, e.g - gtest}; };
      auto to_phi = [gtest](End e) { return End{e.alpha, e.f + e.alpha * gtest, e.g + gtest}; };
      End xm = to_psi(x), ym = to_psi(y);
      stp = SafeguardedStep(&xm, &ym, to_psi(trial), &bracketed, stmin, stmax);
      x = to_phi(xm);
      y = to_phi(ym);
    } else {
      stp = SafeguardedStep(&x, &y, trial, &bracketed, stmin, stmax);
    }

    // The first interpolation, with the caller's value-only probe: the
    // quartic through all five data replaces the cubic's step when it has
    // a minimiser where the step may go (inside the new bracket, or beyond
    // the trial within the extrapolation bound), and when both value
    // differences stand well above the rounding noise of f (near the
    // float32 floor a noisy phi(t) makes the quartic worse than the cubic).
    if (probe != nullptr && phi->gradient_evaluations() == 1 && phi->nonfinite_probes() == 0 &&
        std::isfinite(probe->value) && probe->step > 0.0 &&
        std::fabs(probe->value - f0) >= kProbeNoiseRatio * phi->ValueNoise() &&
        std::fabs(f - f0) >= kProbeNoiseRatio * phi->ValueNoise()) {
      const double lo = bracketed ? std::min(x.alpha, y.alpha) : trial.alpha;
      const double hi = bracketed ? std::max(x.alpha, y.alpha) : trial_hi;
      const double quartic =
          QuarticMinimizer(f0, g0, probe->step, probe->value, trial.alpha, f, g, lo, hi);
      if (std::isfinite(quartic)) stp = quartic;
    }

    if (bracketed) {
      // Bisect if the last two trials did not shrink the interval enough.
      if (std::fabs(y.alpha - x.alpha) >= kShrink * width1) {
        stp = x.alpha + 0.5 * (y.alpha - x.alpha);
      }
      width1 = width;
      width = std::fabs(y.alpha - x.alpha);
      stmin = std::min(x.alpha, y.alpha);
      stmax = std::max(x.alpha, y.alpha);
    } else {
      stmin = stp + kExtrapolateLower * (stp - x.alpha);
      stmax = stp + kExtrapolateUpper * (stp - x.alpha);
    }
    stp = std::clamp(stp, stpmin, stpmax);
    if (stp >= nonfinite_cap) stp = x.alpha + 0.5 * (nonfinite_cap - x.alpha);
    if (!bracketed) {
      stmin = std::min(stmin, nonfinite_cap);
      stmax = std::min(stmax, nonfinite_cap);
    }

    if (bracketed && (stp <= stmin || stp >= stmax || phi->BelowResolution(x.alpha, y.alpha))) {
      phi->ReturnBest(&result);
      SetFailure(*phi, LineSearchStatus::kEvaluationLimit,
                 "strong Wolfe: the interval of uncertainty [" +
                     FormatNumber(std::min(x.alpha, y.alpha)) + ", " +
                     FormatNumber(std::max(x.alpha, y.alpha)) +
                     "] is below float32 resolution (rounding errors prevent progress) and "
                     "the curvature condition does not hold in it",
                 &result);
      return result;
    }
    if (stp == trial.alpha) {
      // Unbracketed, pinned at the cap (f decreasing there, but without
      // sufficient decrease) or by rounding: the same probe again would
      // change nothing.
      phi->ReturnBest(&result);
      SetFailure(*phi, LineSearchStatus::kEvaluationLimit,
                 "strong Wolfe: no new trial step beyond " + FormatNumber(stp) +
                     " (the cap max_step_factor * initial step is " + FormatNumber(stpmax) + ")",
                 &result);
      return result;
    }
  }
}

}  // namespace line_search_internal
}  // namespace twophase
