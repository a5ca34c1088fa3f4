#include "core/gradient_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/rng.h"

namespace twophase {
namespace {

double Allowed(const GradientCheckOptions& options, double a, double b) {
  return options.atol + options.rtol * std::max(std::fabs(a), std::fabs(b));
}

// Judges one numeric/analytic pair into `result`, keeping the worst one (a
// NaN ranks above everything).
void Judge(int64_t index, double numeric, double analytic, const GradientCheckOptions& options,
           GradientCheckResult* result) {
  const double ratio = std::fabs(numeric - analytic) / Allowed(options, numeric, analytic);
  ++result->checked;
  if (!(ratio <= 1.0)) ++result->failures;  // NaN counts as a failure
  const bool worse = result->worst_index < 0 ||
                     (std::isnan(ratio) && !std::isnan(result->worst_ratio)) ||
                     ratio > result->worst_ratio;
  if (worse) {
    result->worst_ratio = ratio;
    result->worst_index = index;
    result->worst_numeric = numeric;
    result->worst_analytic = analytic;
  }
}

// A kink within the step: the forward difference (f+ - f0)/h+ and the
// backward one (f0 - f-)/h- differ by the slope change there, while on a
// smooth function they differ only by about h * f'' (tiny at our steps).
bool HasKink(double f_minus, double f0, double f_plus, double h_minus, double h_plus,
             const GradientCheckOptions& options) {
  const double forward = (f_plus - f0) / h_plus;
  const double backward = (f0 - f_minus) / h_minus;
  return !(std::fabs(forward - backward) <= Allowed(options, forward, backward));
}

void Summarise(GradientCheckResult* result) {
  result->ok = result->failures == 0;
  char buf[320];
  std::snprintf(buf, sizeof(buf),
                "%lld of %lld checks outside tolerance (%lld skipped at kinks); worst index "
                "%lld: numeric %.6g, analytic %.6g (error/allowed = %.3g)",
                static_cast<long long>(result->failures), static_cast<long long>(result->checked),
                static_cast<long long>(result->skipped),
                static_cast<long long>(result->worst_index), result->worst_numeric,
                result->worst_analytic, result->worst_ratio);
  result->message = buf;
}

}  // namespace

GradientCheckResult CheckGradient(float* x, int64_t n, const float* analytic,
                                  const std::function<double()>& loss,
                                  const GradientCheckOptions& options) {
  std::vector<int64_t> indices(n);
  std::iota(indices.begin(), indices.end(), 0);
  if (options.max_coordinates > 0 && options.max_coordinates < n) {
    Rng rng(options.seed);
    rng.Shuffle(indices.data(), n);
    indices.resize(options.max_coordinates);
    std::sort(indices.begin(), indices.end());
  }

  const double f0 = options.skip_kinks ? loss() : 0.0;
  GradientCheckResult result;
  for (int64_t i : indices) {
    const float saved = x[i];
    const float plus = static_cast<float>(saved + options.step);
    const float minus = static_cast<float>(saved - options.step);
    x[i] = plus;
    const double f_plus = loss();
    x[i] = minus;
    const double f_minus = loss();
    x[i] = saved;
    if (options.skip_kinks && HasKink(f_minus, f0, f_plus, saved - minus, plus - saved, options)) {
      ++result.skipped;
      continue;
    }
    const double numeric = (f_plus - f_minus) / (static_cast<double>(plus) - minus);
    Judge(i, numeric, analytic[i], options, &result);
  }
  Summarise(&result);
  return result;
}

GradientCheckResult CheckDirectionalDerivative(float* x, int64_t n, const float* analytic,
                                               const float* direction,
                                               const std::function<double()>& loss,
                                               const GradientCheckOptions& options) {
  const std::vector<float> saved(x, x + n);
  // The steps actually taken are the float differences, per entry; the
  // quotient uses the nominal h, which is exact up to float rounding of each
  // entry (relative 6e-8, far below any tolerance).
  const double h = options.step;
  const double f0 = options.skip_kinks ? loss() : 0.0;
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(saved[i] + h * direction[i]);
  const double f_plus = loss();
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(saved[i] - h * direction[i]);
  const double f_minus = loss();
  std::copy(saved.begin(), saved.end(), x);
  double projected = 0.0;
  for (int64_t i = 0; i < n; ++i) projected += static_cast<double>(analytic[i]) * direction[i];

  GradientCheckResult result;
  if (options.skip_kinks && HasKink(f_minus, f0, f_plus, h, h, options)) {
    result.skipped = 1;
  } else {
    Judge(0, (f_plus - f_minus) / (2.0 * h), projected, options, &result);
  }
  Summarise(&result);
  return result;
}

double ProjectedLoss(const float* y, const std::vector<float>& r) {
  double s = 0.0;
  for (size_t i = 0; i < r.size(); ++i) s += static_cast<double>(r[i]) * y[i];
  return s;
}

std::vector<float> RandomVector(int64_t n, uint64_t seed, float lo, float hi) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& e : v) e = static_cast<float>(rng.Uniform(lo, hi));
  return v;
}

}  // namespace twophase
