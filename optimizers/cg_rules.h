// The rules of one nonlinear CG iteration as pure functions (numbers in,
// numbers out, no state), so that each can be checked against values
// computed by hand (cg_rules_test.cc). ConjugateGradient::Iterate gathers
// the dot products and applies them; the formulas are in
// conjugate_gradient.h.
#ifndef TWOPHASE_OPTIMIZERS_CG_RULES_H_
#define TWOPHASE_OPTIMIZERS_CG_RULES_H_

#include <cstdint>
#include <optional>

#include "optimizers/conjugate_gradient.h"

namespace twophase {

// What every beta rule needs, as dot products of g_k, g_{k+1} and d_k
// (accumulated in double: conjugate_gradient.cc says why y_k = g_{k+1} - g_k
// is never formed).
struct BetaInputs {
  double gg = 0.0;           // |g_{k+1}|^2
  double gg_old = 0.0;       // |g_k|^2
  double g_dot_g_old = 0.0;  // g_{k+1} . g_k
  double d_dot_g = 0.0;      // d_k . g_{k+1}
  double slope = 0.0;        // d_k . g_k
  // Hager-Zhang only (the others do not read them, so Iterate need not
  // spend a pass over d_k on them): |d_k| and |g_k|.
  double d_norm = 0.0;
  double gradient_norm_old = 0.0;
};

// beta_{k+1} by `rule`; nullopt when it cannot form a direction: a
// non-finite beta (a zero |g_k|^2), or d_k.y_k <= 0 for the rules that
// divide by it (HS, DY, HZ: the Wolfe curvature condition makes it
// positive, a golden-section search does not). The caller restarts then
// ("not-descent"). hager_zhang_eta is CG_DESCENT's eta in HZ's lower bound.
std::optional<double> ComputeBeta(BetaRule rule, const BetaInputs& in, double hager_zhang_eta);

// The periodic restart: due after `period` iterations without one; the
// period is restart_every, or n (the number of variables) when that is 0.
bool PeriodicRestartDue(int64_t since_restart, int64_t restart_every, int64_t n);

// Powell (1977): successive gradients far from orthogonal,
// |g_{k+1}.g_k| >= threshold |g_{k+1}|^2, mean that conjugacy is lost.
// A threshold <= 0 disables the test.
bool PowellRestartDue(double g_dot_g_old, double gg, double threshold);

// What the first trial step of a line search depends on.
struct TrialStepInputs {
  // first_step_length / |d_k|: a step of that length along d_k.
  double first_step = 0.0;
  // The first search, or the first after a failed one: no previous step
  // to scale from.
  bool fresh = true;
  double previous_step = 0.0;   // alpha_{k-1} (0 after a rejected step)
  double previous_slope = 0.0;  // g_{k-1} . d_{k-1}
  double slope = 0.0;           // g_k . d_k, < 0
  double value = 0.0;           // f_k
  double previous_value = 0.0;  // f_{k-1}
};

// The trial step before QuadStep's probe: first_step when fresh or when the
// rule gives no positive finite step; otherwise N&W (3.60),
// alpha_{k-1} g_{k-1}.d_{k-1} / g_k.d_k, or with kQuadraticInterpolation
// (3.60a), min(1, 1.01 * 2 (f_k - f_{k-1}) / g_k.d_k). kQuadStep starts
// from (3.60) and is refined by QuadStepTrial.
double InitialTrialStep(InitialStepRule rule, const TrialStepInputs& in);

// QuadStep (Hager & Zhang 2006): given the probe phi(t) = f_t at the trial
// t, the minimiser -slope / (2c) of the quadratic f_k + slope a + c a^2
// through it when convex (c > 0), else 2 t; t itself when f_t or the result
// is not a positive finite number (the line search then backs off from t).
double QuadStepTrial(double t, double f_t, double value, double slope);

}  // namespace twophase

#endif  // TWOPHASE_OPTIMIZERS_CG_RULES_H_
