// The expressions are written exactly as Iterate evaluated them before they
// moved here (the order of operations included): the two-phase runs'
// results must stay bit-identical.
#include "optimizers/cg_rules.h"

#include <algorithm>
#include <cmath>

namespace twophase {

std::optional<double> ComputeBeta(BetaRule rule, const BetaInputs& in, double hager_zhang_eta) {
  const double dy = in.d_dot_g - in.slope;   // d_k . y_k
  const double gy = in.gg - in.g_dot_g_old;  // g_{k+1} . y_k
  double beta = 0.0;
  bool divides_by_dy = true;
  switch (rule) {
    case BetaRule::kFletcherReeves:
      beta = in.gg / in.gg_old;
      divides_by_dy = false;
      break;
    case BetaRule::kPolakRibiere:
      beta = gy / in.gg_old;
      divides_by_dy = false;
      break;
    case BetaRule::kPolakRibierePlus:
      beta = std::max(0.0, gy / in.gg_old);
      divides_by_dy = false;
      break;
    case BetaRule::kHestenesStiefel:
      beta = gy / dy;
      break;
    case BetaRule::kDaiYuan:
      beta = in.gg / dy;
      break;
    case BetaRule::kHagerZhang: {
      // Hager & Zhang (2005), "A new conjugate gradient method with
      // guaranteed descent and an efficient line search", SIAM J. Optim.
      // 16(1): beta^N, truncated below at CG_DESCENT's
      // eta_k = -1 / (|d_k| min(eta, |g_k|)) (their beta-bar_k), which
      // keeps global convergence for general f.
      const double yy = in.gg - 2.0 * in.g_dot_g_old + in.gg_old;  // |y_k|^2
      beta = (gy - 2.0 * yy * in.d_dot_g / dy) / dy;
      const double eta_k = -1.0 / (in.d_norm * std::min(hager_zhang_eta, in.gradient_norm_old));
      beta = std::max(beta, eta_k);
      break;
    }
  }
  if (!std::isfinite(beta) || (divides_by_dy && !(dy > 0))) return std::nullopt;
  return beta;
}

bool PeriodicRestartDue(int64_t since_restart, int64_t restart_every, int64_t n) {
  const int64_t period = restart_every > 0 ? restart_every : n;
  return since_restart >= period;
}

bool PowellRestartDue(double g_dot_g_old, double gg, double threshold) {
  return threshold > 0 && std::abs(g_dot_g_old) >= threshold * gg;
}

double InitialTrialStep(InitialStepRule rule, const TrialStepInputs& in) {
  if (in.fresh) return in.first_step;
  double step = in.previous_step * in.previous_slope / in.slope;
  if (!std::isfinite(step) || step <= 0) step = in.first_step;
  if (rule == InitialStepRule::kQuadraticInterpolation) {
    const double quadratic = std::min(1.0, 1.01 * 2.0 * (in.value - in.previous_value) / in.slope);
    if (std::isfinite(quadratic) && quadratic > 0) step = quadratic;
  }
  return step;
}

double QuadStepTrial(double t, double f_t, double value, double slope) {
  if (!std::isfinite(f_t)) return t;
  const double c = (f_t - value - slope * t) / (t * t);
  const double quadstep = c > 0 ? -slope / (2.0 * c) : 2.0 * t;
  return std::isfinite(quadstep) && quadstep > 0 ? quadstep : t;
}

}  // namespace twophase
