#include "training/training_objective.h"

#include <algorithm>
#include <cstring>

namespace twophase {

ChunkedPassScope::ChunkedPassScope(Model* model, const float* images, const int32_t* labels,
                                   int64_t samples, LossKind loss, int64_t chunk, bool backward,
                                   std::vector<float>* logits, std::vector<float>* dlogits)
    : model_(model),
      images_(images),
      labels_(labels),
      samples_(samples),
      chunk_(std::min(chunk, std::max<int64_t>(samples, 1))),
      loss_(loss),
      backward_(backward),
      was_training_(model->training()),
      scale_(samples > 0 ? 1.0 / samples : 0.0),
      logits_(logits),
      dlogits_(dlogits) {
  const InputShape& shape = model->input();
  classes_ = shape.classes;
  image_size_ = shape.channels * shape.height * shape.width;
  logits->resize(chunk_ * classes_);
  if (backward) dlogits->resize(chunk_ * classes_);
  model->set_training(backward);
}

LossSums ChunkedPassScope::Step(int64_t start) {
  const int64_t n = std::min(chunk_, samples_ - start);
  model_->Forward(images_ + start * image_size_, n, logits_->data());
  const LossSums sums = EvaluateLoss(loss_, logits_->data(), labels_ + start, n, classes_,
                                     backward_ ? dlogits_->data() : nullptr, scale_);
  if (backward_) model_->Backward(dlogits_->data());
  return sums;
}

LossSums ChunkedPass(Model* model, const float* images, const int32_t* labels, int64_t samples,
                     LossKind loss, int64_t chunk, bool backward, std::vector<float>* logits,
                     std::vector<float>* dlogits) {
  ChunkedPassScope pass(model, images, labels, samples, loss, chunk, backward, logits, dlogits);
  LossSums total;
  for (int64_t start = 0; start < samples; start += pass.chunk()) {
    const LossSums sums = pass.Step(start);
    total.loss_sum += sums.loss_sum;
    total.correct += sums.correct;
  }
  return total;
}

LossSums ChunkedPass(Model* model, const Dataset& data, int64_t samples, LossKind loss,
                     int64_t chunk, bool backward, std::vector<float>* logits,
                     std::vector<float>* dlogits) {
  return ChunkedPass(model, data.images.data(), data.labels.data(), samples, loss, chunk, backward,
                     logits, dlogits);
}

TrainingObjective::TrainingObjective(Model* model, const Dataset* data, LossKind loss,
                                     int64_t samples, int64_t chunk, PassPlan plan)
    : model_(model),
      data_(data),
      loss_(loss),
      samples_(samples > 0 ? std::min(samples, data->count) : data->count),
      chunk_(chunk),
      plan_(plan) {}

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
  const LossSums sums =
      PlannedPass(plan_, model_, *data_, samples_, loss_, chunk_, gradient, &logits_, &dlogits_);
  // In units of passes over the whole training set.
  const double fraction = static_cast<double>(samples_) / data_->count;
  mutable_counts().forward_passes += fraction;
  if (gradient) mutable_counts().backward_passes += fraction;
  return sums.loss_sum / samples_;
}

}  // namespace twophase
