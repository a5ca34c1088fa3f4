#include "optimizers/scaled_objective.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace twophase {

ScaledObjective::ScaledObjective(Objective* inner, std::vector<float> scale)
    : inner_(inner), scale_(std::move(scale)), x_(inner->size()) {}

void ScaledObjective::ToScaled(const float* x, float* y) const {
  const int64_t n = size();
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / scale_[i];
}

void ScaledObjective::FromScaled(const float* y, float* x) const {
  const int64_t n = size();
  for (int64_t i = 0; i < n; ++i) x[i] = scale_[i] * y[i];
}

double ScaledObjective::UnscaledNorm(const float* g) const {
  const int64_t n = size();
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(g[i]) / scale_[i];
    sum += x * x;
  }
  return std::sqrt(sum);
}

double ScaledObjective::DoValue(const float* y) {
  FromScaled(y, x_.data());
  const EvaluationCounts before = inner_->counts();
  const double f = inner_->Value(x_.data());
  mutable_counts().forward_passes += inner_->counts().forward_passes - before.forward_passes;
  return f;
}

double ScaledObjective::DoValueAndGradient(const float* y, float* g) {
  FromScaled(y, x_.data());
  const EvaluationCounts before = inner_->counts();
  const double f = inner_->ValueAndGradient(x_.data(), g);
  mutable_counts().forward_passes += inner_->counts().forward_passes - before.forward_passes;
  mutable_counts().backward_passes += inner_->counts().backward_passes - before.backward_passes;
  const int64_t n = size();
  for (int64_t i = 0; i < n; ++i) g[i] *= scale_[i];
  return f;
}

std::vector<float> AdamScales(const Adam& adam, double min_epsilon) {
  if (adam.steps() == 0) return {};
  const double bias_correction2 =
      1.0 - std::pow(adam.options().beta2, static_cast<double>(adam.steps()));
  const double eps = std::max(adam.options().epsilon, min_epsilon);
  const std::vector<float>& v = adam.second_moment();
  std::vector<float> s(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const double denom = std::sqrt(static_cast<double>(v[i]) / bias_correction2) + eps;
    s[i] = static_cast<float>(1.0 / std::sqrt(denom));
  }
  return s;
}

}  // namespace twophase
