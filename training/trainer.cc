#include "training/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>

#include "core/rng.h"

namespace twophase {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The batch order's generator: a stream of its own, so that changing how
// the model draws its initial weights does not change the batch order.
constexpr uint64_t kShuffleStream = 0x53485546464c45ull;  // "SHUFFLE"

}  // namespace

bool TrainOptions::IsValid(std::string* error) const {
  if (epochs < 0) {
    *error = "epochs must be >= 0, got " + std::to_string(epochs);
    return false;
  }
  if (batch_size < 1) {
    *error = "batch size must be >= 1, got " + std::to_string(batch_size);
    return false;
  }
  if (eval_chunk < 1) {
    *error = "evaluation chunk must be >= 1, got " + std::to_string(eval_chunk);
    return false;
  }
  return adam.IsValid(error);
}

Evaluation Evaluate(Model* model, const Dataset& data, LossKind loss,
                    int64_t chunk) {
  const int64_t classes = model->input().classes;
  std::vector<float> logits(chunk * classes);
  double loss_sum = 0.0;
  int64_t correct = 0;
  for (int64_t start = 0; start < data.count; start += chunk) {
    const int64_t n = std::min(chunk, data.count - start);
    model->Forward(data.image(start), n, logits.data());
    const LossSums sums = EvaluateLoss(loss, logits.data(),
                                       data.labels.data() + start, n, classes,
                                       nullptr, 0.0);
    loss_sum += sums.loss_sum;
    correct += sums.correct;
  }
  Evaluation e;
  if (data.count > 0) {
    e.loss = loss_sum / data.count;
    e.accuracy = static_cast<double>(correct) / data.count;
  }
  return e;
}

TrainSummary TrainAdam(
    Model* model, const DataSplit& data, const TrainOptions& options,
    const std::function<void(const EpochRecord&)>& on_epoch) {
  TrainSummary summary;
  const Dataset& train = data.train;
  const int64_t classes = model->input().classes;
  const int64_t image_size = train.image_size();
  ParameterBuffer& params = model->params();
  const int64_t p = params.size();

  Adam adam(p, options.adam);
  Rng shuffle_rng(options.seed ^ kShuffleStream);
  std::vector<int64_t> order(train.count);
  std::vector<float> batch_images(options.batch_size * image_size);
  std::vector<int32_t> batch_labels(options.batch_size);
  std::vector<float> logits(options.batch_size * classes);
  std::vector<float> dlogits(options.batch_size * classes);
  std::vector<double> gradient_sum(p);

  for (int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto start = Clock::now();
    std::iota(order.begin(), order.end(), 0);
    shuffle_rng.Shuffle(order.data(), train.count);
    std::fill(gradient_sum.begin(), gradient_sum.end(), 0.0);
    int64_t batches = 0;
    bool finite = true;

    for (int64_t first = 0; first < train.count; first += options.batch_size) {
      const int64_t n = std::min(options.batch_size, train.count - first);
      if (n < options.batch_size && options.drop_last) break;
      for (int64_t i = 0; i < n; ++i) {
        const int64_t idx = order[first + i];
        std::memcpy(batch_images.data() + i * image_size, train.image(idx),
                    sizeof(float) * image_size);
        batch_labels[i] = train.labels[idx];
      }
      params.ZeroGrads();
      model->Forward(batch_images.data(), n, logits.data());
      const LossSums sums =
          EvaluateLoss(options.loss, logits.data(), batch_labels.data(), n,
                       classes, dlogits.data(), 1.0 / n);
      model->Backward(dlogits.data());
      const float* g = params.grads();
      for (int64_t j = 0; j < p; ++j) gradient_sum[j] += g[j];
      if (!std::isfinite(sums.loss_sum)) {
        finite = false;
        break;
      }
      adam.Step(params.values(), g);
      ++batches;
      ++summary.steps;
    }

    EpochRecord record;
    record.epoch = epoch;
    record.seconds = SecondsSince(start);
    double norm2 = 0.0;
    for (int64_t j = 0; j < p; ++j) {
      const double mean = gradient_sum[j] / std::max<int64_t>(batches, 1);
      norm2 += mean * mean;
    }
    record.gradient_norm = std::sqrt(norm2);

    const auto eval_start = Clock::now();
    const Evaluation on_train =
        Evaluate(model, train, options.loss, options.eval_chunk);
    const Evaluation on_test =
        Evaluate(model, data.test, options.loss, options.eval_chunk);
    record.eval_seconds = SecondsSince(eval_start);
    record.train_loss = on_train.loss;
    record.train_accuracy = on_train.accuracy;
    record.test_loss = on_test.loss;
    record.test_accuracy = on_test.accuracy;
    summary.epochs.push_back(record);
    if (on_epoch) on_epoch(record);

    if (!finite || !std::isfinite(record.train_loss) ||
        !std::isfinite(record.gradient_norm)) {
      summary.status = TrainStatus::kDiverged;
      summary.message = "diverged in epoch " + std::to_string(epoch) +
                        ": loss or gradient is NaN or Inf (try a smaller "
                        "learning rate)";
      return summary;
    }
  }
  summary.message = "completed " + std::to_string(options.epochs) + " epochs";
  return summary;
}

std::string EpochCsvHeader() {
  return "epoch,train_loss,train_accuracy,test_loss,test_accuracy,"
         "gradient_norm,seconds,eval_seconds";
}

std::string EpochCsvRow(const EpochRecord& r) {
  // %.9g round-trips float32 values and keeps the file diffable.
  char buf[512];
  std::snprintf(buf, sizeof(buf), "%lld,%.9g,%.9g,%.9g,%.9g,%.9g,%.3f,%.3f",
                static_cast<long long>(r.epoch), r.train_loss,
                r.train_accuracy, r.test_loss, r.test_accuracy,
                r.gradient_norm, r.seconds, r.eval_seconds);
  return buf;
}

}  // namespace twophase
