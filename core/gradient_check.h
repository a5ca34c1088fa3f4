// Central-difference gradient checking, for the tests of every backward pass.
//
// For each checked coordinate i the numeric derivative is
//   (L(x + h e_i) - L(x - h e_i)) / (x_i+ - x_i-)
// with the actually representable float32 points x_i+/- (so rounding of the
// step itself causes no error), and it must agree with the analytic one:
//   |numeric - analytic| <= atol + rtol * max(|numeric|, |analytic|).
// In float32 with h = 1e-3 and the loss accumulated in double, the numeric
// error is about 1e-4 relative on smooth functions, so rtol = 1e-2 is loose
// enough for kinks to be avoided and tight enough that a gradient off by a
// few per cent, a wrong sign or a missing term fails (gradient_check_test
// shows that a perturbed gradient is caught).
#ifndef TWOPHASE_CORE_GRADIENT_CHECK_H_
#define TWOPHASE_CORE_GRADIENT_CHECK_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace twophase {

struct GradientCheckOptions {
  double step = 1e-3;
  double rtol = 1e-2;
  double atol = 1e-4;
  // 0: check every coordinate; otherwise this many, sampled with `seed`.
  int64_t max_coordinates = 0;
  uint64_t seed = 1;
  // For piecewise-smooth functions (ReLU, max-pool): also evaluate L(x);
  // where the forward and the backward one-sided differences disagree
  // beyond the tolerance, a kink (a ReLU input or a max-pool winner
  // switching) lies inside the step and the coordinate cannot be checked by
  // differences: it is skipped and counted. The test does not look at the analytic gradient, so a
  // wrong backward cannot hide behind it; callers bound the share of skips.
  bool skip_kinks = false;
};

struct GradientCheckResult {
  bool ok = true;
  int64_t checked = 0;
  int64_t failures = 0;
  int64_t skipped = 0;  // kinks inside the step (skip_kinks only)
  // The coordinate with the largest violation ratio |err| / allowed.
  int64_t worst_index = -1;
  double worst_numeric = 0.0;
  double worst_analytic = 0.0;
  double worst_ratio = 0.0;  // <= 1 means within tolerance
  std::string message;       // human-readable summary
};

// Checks `analytic` (n entries) against central differences of `loss`,
// perturbing x[i] in place and restoring it. `loss` reads x.
GradientCheckResult CheckGradient(float* x, int64_t n, const float* analytic,
                                  const std::function<double()>& loss,
                                  const GradientCheckOptions& options = {});

// The same check along one direction d (n entries) instead of coordinate
// axes: (L(x + h d) - L(x - h d)) / 2h against analytic . d. With d the
// normalised analytic gradient itself the signal is |analytic|, the whole
// tensor's worth, so a gradient off in scale by a few per cent is caught
// even where single entries drown in float32 noise. `checked` is 1 (or
// `skipped` 1 at a kink); x is restored exactly.
GradientCheckResult CheckDirectionalDerivative(float* x, int64_t n, const float* analytic,
                                               const float* direction,
                                               const std::function<double()>& loss,
                                               const GradientCheckOptions& options = {});

// sum_i r[i] * y[i], accumulated in double: a scalar loss whose gradient
// with respect to y is r, for checking a layer's backward pass with dy = r.
double ProjectedLoss(const float* y, const std::vector<float>& r);

// n values uniform in [lo, hi), from a seeded Rng.
std::vector<float> RandomVector(int64_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

}  // namespace twophase

#endif  // TWOPHASE_CORE_GRADIENT_CHECK_H_
