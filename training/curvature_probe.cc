#include "training/curvature_probe.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/option_check.h"

namespace twophase {

bool CurvatureProbeOptions::IsValid(std::string* error) const {
  return CheckOption(every >= 0, "probe_every", ">= 0 (0: off)", static_cast<double>(every),
                     error) &&
         CheckOption(samples >= 0, "probe_samples", ">= 0 (0: all)", static_cast<double>(samples),
                     error) &&
         CheckOption(steps >= 1, "probe_steps", ">= 1", static_cast<double>(steps), error);
}

CurvatureReading ProbeCurvature(TrainingObjective* objective, const float* x, const float* previous,
                                const LanczosOptions& lanczos, double hvp_step,
                                ProbeDetails* details) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = objective->size();
  const double passes_before = objective->counts().forward_passes;
  // A copy: x may be the model's own parameters, which every evaluation
  // below overwrites.
  const std::vector<float> point(x, x + n);
  std::vector<float> g(n);
  const double loss = objective->ValueAndGradient(point.data(), g.data());
  HessianVectorProduct hvp(objective, point.data(), hvp_step);
  const LanczosResult extremes = Lanczos(hvp.AsOperator(), n, lanczos);
  const double rounding_error = hvp.last_rounding_error();
  CurvatureReading reading;
  reading.lambda_min = extremes.lambda_min;
  reading.lambda_max = extremes.lambda_max;
  reading.along_gradient = CurvatureAlong(&hvp, std::vector<double>(g.begin(), g.end()));
  reading.along_update = std::numeric_limits<double>::quiet_NaN();
  if (previous != nullptr) {
    std::vector<double> update(n);
    bool moved = false;
    for (int64_t i = 0; i < n; ++i) {
      update[i] = static_cast<double>(point[i]) - static_cast<double>(previous[i]);
      moved = moved || update[i] != 0;
    }
    if (moved) reading.along_update = CurvatureAlong(&hvp, update);
  }
  // The products left the model at x +- h u.
  std::memcpy(objective->model()->params().values(), point.data(), sizeof(float) * n);
  reading.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (details != nullptr) {
    details->lanczos = extremes;
    details->loss = loss;
    details->gradient_norm = Norm(g.data(), n);
    details->step = hvp.step();
    details->rounding_error = rounding_error;
    details->passes = objective->counts().forward_passes - passes_before;
    details->products = hvp.products();
  }
  return reading;
}

}  // namespace twophase
