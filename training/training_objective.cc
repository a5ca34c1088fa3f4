#include "training/training_objective.h"

#include <algorithm>
#include <cstring>

namespace twophase {

TrainingObjective::TrainingObjective(Model* model, const Dataset* data, LossKind loss,
                                     int64_t samples, int64_t chunk)
    : model_(model),
      data_(data),
      loss_(loss),
      samples_(samples > 0 ? std::min(samples, data->count) : data->count),
      chunk_(chunk) {
  const int64_t classes = model_->input().classes;
  logits_.resize(chunk_ * classes);
  dlogits_.resize(chunk_ * classes);
}

std::string TrainingObjective::name() const {
  return model_->name() + " " + LossKindName(loss_) + " on " + data_->name + " (" +
         std::to_string(samples_) + " samples)";
}

double TrainingObjective::DoValue(const float* x) { return Pass(x, false); }

double TrainingObjective::DoValueAndGradient(const float* x, float* g) {
  const double value = Pass(x, true);
  std::memcpy(g, model_->params().grads(), sizeof(float) * size());
  return value;
}

double TrainingObjective::Pass(const float* x, bool gradient) {
  ParameterBuffer& params = model_->params();
  if (x != params.values()) std::memcpy(params.values(), x, sizeof(float) * size());
  if (gradient) params.ZeroGrads();
  const int64_t classes = model_->input().classes;
  const double scale = 1.0 / samples_;
  double loss_sum = 0.0;
  for (int64_t start = 0; start < samples_; start += chunk_) {
    const int64_t n = std::min(chunk_, samples_ - start);
    model_->Forward(data_->image(start), n, logits_.data());
    const LossSums sums = EvaluateLoss(loss_, logits_.data(), data_->labels.data() + start, n,
                                       classes, gradient ? dlogits_.data() : nullptr, scale);
    loss_sum += sums.loss_sum;
    if (gradient) model_->Backward(dlogits_.data());
  }
  // In units of passes over the whole training set.
  const double fraction = static_cast<double>(samples_) / data_->count;
  mutable_counts().forward_passes += fraction;
  if (gradient) mutable_counts().backward_passes += fraction;
  return loss_sum / samples_;
}

}  // namespace twophase
