#include "training/training_objective.h"

#include <algorithm>
#include <cstring>

namespace twophase {

LossSums ChunkedPass(Model* model, const float* images, const int32_t* labels, int64_t samples,
                     LossKind loss, int64_t chunk, bool backward, std::vector<float>* logits,
                     std::vector<float>* dlogits) {
  const InputShape& shape = model->input();
  const int64_t classes = shape.classes;
  const int64_t image_size = shape.channels * shape.height * shape.width;
  // A chunk larger than the pass (a micro-batch of 10^9 from the command
  // line) is one pass: the scratch is sized by what runs.
  chunk = std::min(chunk, std::max<int64_t>(samples, 1));
  logits->resize(chunk * classes);
  if (backward) dlogits->resize(chunk * classes);
  const double scale = samples > 0 ? 1.0 / samples : 0.0;
  // Forward-only passes (evaluation, line-search probes) run the model in
  // evaluation mode: it need not keep what only a backward pass reads.
  const bool was_training = model->training();
  model->set_training(backward);
  LossSums total;
  for (int64_t start = 0; start < samples; start += chunk) {
    const int64_t n = std::min(chunk, samples - start);
    model->Forward(images + start * image_size, n, logits->data());
    const LossSums sums = EvaluateLoss(loss, logits->data(), labels + start, n, classes,
                                       backward ? dlogits->data() : nullptr, scale);
    total.loss_sum += sums.loss_sum;
    total.correct += sums.correct;
    if (backward) model->Backward(dlogits->data());
  }
  model->set_training(was_training);
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
