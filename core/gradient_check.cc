#include "core/gradient_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/rng.h"

namespace twophase {

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
    const double numeric =
        (f_plus - f_minus) / (static_cast<double>(plus) - minus);
    const double a = analytic[i];
    const double allowed =
        options.atol + options.rtol * std::max(std::fabs(numeric), std::fabs(a));
    const double ratio = std::fabs(numeric - a) / allowed;
    ++result.checked;
    if (!(ratio <= 1.0)) ++result.failures;  // NaN counts as a failure
    if (!(ratio <= result.worst_ratio) || result.worst_index < 0) {
      result.worst_ratio = ratio;
      result.worst_index = i;
      result.worst_numeric = numeric;
      result.worst_analytic = a;
    }
  }
  result.ok = result.failures == 0;
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "%lld of %lld coordinates outside tolerance; worst index %lld: "
                "numeric %.6g, analytic %.6g (error/allowed = %.3g)",
                static_cast<long long>(result.failures),
                static_cast<long long>(result.checked),
                static_cast<long long>(result.worst_index),
                result.worst_numeric, result.worst_analytic,
                result.worst_ratio);
  result.message = buf;
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
