#include "training/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>

#include "core/enum_names.h"
#include "core/option_check.h"
#include "core/rng.h"
#include "optimizers/objective.h"
#include "optimizers/scaled_objective.h"
#include "training/training_objective.h"

namespace twophase {
namespace {

constexpr EnumName<Algorithm> kAlgorithms[] = {
    {Algorithm::kAdam, "adam"},
    {Algorithm::kCg, "cg"},
    {Algorithm::kTwoPhase, "two-phase"},
};

constexpr EnumName<CgPreconditioner> kCgPreconditioners[] = {
    {CgPreconditioner::kNone, "none"},
    {CgPreconditioner::kAdam, "adam"},
};

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The batch order's generator: a stream of its own, so that changing how
// the model draws its initial weights does not change the batch order.
constexpr uint64_t kShuffleStream = 0x53485546464c45ull;  // "SHUFFLE"

struct AdamEpochResult {
  bool finite = true;
  int64_t steps = 0;
  int64_t samples = 0;              // samples that went into steps
  double mean_gradient_norm = 0.0;  // |mean of the mini-batch gradients|
  double mean_of_norms = 0.0;       // mean of |mini-batch gradient|
};

// The most samples one mini-batch of `train` holds.
int64_t BatchCapacity(const TrainOptions& options, const Dataset& train) {
  return std::min(options.batch_size, std::max<int64_t>(train.count, 1));
}

// Mini-batch Adam, one epoch at a time, with the free gradient-norm signals
// of the swap detector summed along the way.
class AdamPhase {
 public:
  AdamPhase(Model* model, const Dataset& train, const TrainOptions& options)
      : model_(model),
        train_(train),
        options_(options),
        adam_(model->params().size(), options.adam),
        rng_(options.seed ^ kShuffleStream),
        order_(train.count),
        // Sized by the samples a batch can hold: a batch larger than the
        // training set is the whole set (as PyTorch's DataLoader), and
        // --batch 10^8 on 64 images must not ask for 10^8 images' memory.
        images_(BatchCapacity(options, train) * train.image_size()),
        labels_(BatchCapacity(options, train)),
        gradient_sum_(model->params().size()) {}

  const Adam& adam() const { return adam_; }

  AdamEpochResult RunEpoch() {
    ParameterBuffer& params = model_->params();
    const int64_t p = params.size();
    const int64_t image_size = train_.image_size();
    std::iota(order_.begin(), order_.end(), 0);
    rng_.Shuffle(order_.data(), train_.count);
    std::fill(gradient_sum_.begin(), gradient_sum_.end(), 0.0);
    AdamEpochResult result;
    double norm_sum = 0.0;
    for (int64_t first = 0; first < train_.count; first += options_.batch_size) {
      const int64_t n = std::min(options_.batch_size, train_.count - first);
      if (n < options_.batch_size && options_.drop_last) break;
      for (int64_t i = 0; i < n; ++i) {
        const int64_t idx = order_[first + i];
        std::memcpy(images_.data() + i * image_size, train_.image(idx), sizeof(float) * image_size);
        labels_[i] = train_.labels[idx];
      }
      params.ZeroGrads();
      const LossSums sums =
          ChunkedPass(model_, images_.data(), labels_.data(), n, options_.loss,
                      options_.micro_batch, /*backward=*/true, &logits_, &dlogits_);
      const float* g = params.grads();
      const double norm = Norm(g, p);
      // Never step with a non-finite gradient: the parameters stay finite.
      if (!std::isfinite(sums.loss_sum) || !std::isfinite(norm)) {
        result.finite = false;
        break;
      }
      for (int64_t j = 0; j < p; ++j) gradient_sum_[j] += g[j];
      norm_sum += norm;
      adam_.Step(params.values(), g);
      ++result.steps;
      result.samples += n;
    }
    const double batches = static_cast<double>(std::max<int64_t>(result.steps, 1));
    double norm2 = 0.0;
    for (int64_t j = 0; j < p; ++j) {
      const double mean = gradient_sum_[j] / batches;
      norm2 += mean * mean;
    }
    result.mean_gradient_norm = std::sqrt(norm2);
    result.mean_of_norms = norm_sum / batches;
    return result;
  }

 private:
  Model* model_;
  const Dataset& train_;
  const TrainOptions& options_;
  Adam adam_;
  Rng rng_;
  std::vector<int64_t> order_;
  std::vector<float> images_;
  std::vector<int32_t> labels_;
  std::vector<float> logits_, dlogits_;
  std::vector<double> gradient_sum_;
};

}  // namespace

bool ParseAlgorithm(std::string_view name, Algorithm* algorithm, std::string* error) {
  return ParseEnum(name, kAlgorithms, "algorithm", algorithm, error);
}

std::string AlgorithmName(Algorithm algorithm) { return EnumToName(algorithm, kAlgorithms, "?"); }

bool ParseCgPreconditioner(std::string_view name, CgPreconditioner* p, std::string* error) {
  return ParseEnum(name, kCgPreconditioners, "CG preconditioner", p, error);
}

std::string CgPreconditionerName(CgPreconditioner p) {
  return EnumToName(p, kCgPreconditioners, "?");
}

bool TrainOptions::IsValid(std::string* error) const {
  if (epochs < 0) {
    *error = "epochs must be >= 0, got " + std::to_string(epochs);
    return false;
  }
  if (batch_size < 1) {
    *error = "batch size must be >= 1, got " + std::to_string(batch_size);
    return false;
  }
  if (micro_batch < 1) {
    *error = "micro-batch must be >= 1, got " + std::to_string(micro_batch);
    return false;
  }
  if (cg_samples < 0) {
    *error = "CG samples must be >= 0, got " + std::to_string(cg_samples);
    return false;
  }
  if (!CheckOption(std::isfinite(max_seconds) && max_seconds >= 0, "max seconds", ">= 0 and finite",
                   max_seconds, error) ||
      !CheckOption(std::isfinite(max_forward_passes) && max_forward_passes >= 0,
                   "max forward passes", ">= 0 and finite", max_forward_passes, error) ||
      !CheckOption(std::isfinite(cg_preconditioner_epsilon) && cg_preconditioner_epsilon >= 0,
                   "CG preconditioner epsilon", ">= 0 and finite", cg_preconditioner_epsilon,
                   error)) {
    return false;
  }
  // Each part's own check names the field; the prefix names the part, so
  // that "factor must be in (0, 1)" reads as the swap detector's factor.
  auto part = [error](const char* name, bool ok) {
    if (!ok) *error = std::string(name) + ": " + *error;
    return ok;
  };
  if (algorithm != Algorithm::kCg && !part("adam", adam.IsValid(error))) return false;
  if (algorithm != Algorithm::kAdam && !part("cg", cg.IsValid(error))) return false;
  if (algorithm == Algorithm::kTwoPhase && !part("swap detector", detector.IsValid(error))) {
    return false;
  }
  return true;
}

Evaluation Evaluate(Model* model, const Dataset& data, LossKind loss, int64_t chunk) {
  std::vector<float> logits;
  const LossSums sums =
      ChunkedPass(model, data, data.count, loss, chunk, /*backward=*/false, &logits, nullptr);
  Evaluation e;
  if (data.count > 0) {
    e.loss = sums.loss_sum / data.count;
    e.accuracy = static_cast<double>(sums.correct) / data.count;
  }
  return e;
}

TrainSummary Train(Model* model, const DataSplit& data, const TrainOptions& options,
                   const std::function<void(const EpochRecord&)>& on_epoch) {
  TrainSummary summary;
  ParameterBuffer& params = model->params();
  const int64_t p = params.size();
  const double n_train = static_cast<double>(std::max<int64_t>(data.train.count, 1));

  std::unique_ptr<AdamPhase> adam;
  if (options.algorithm != Algorithm::kCg) {
    adam = std::make_unique<AdamPhase>(model, data.train, options);
  }
  SwapDetector detector(options.detector);
  // CG's objective also serves the full-batch swap signal.
  TrainingObjective objective(model, &data.train, options.loss, options.cg_samples,
                              options.micro_batch);
  ConjugateGradientOptions cg_options = options.cg;
  cg_options.max_iterations = options.epochs;
  cg_options.max_evaluations = 0;
  ConjugateGradient cg(cg_options);
  std::vector<float> full_gradient;
  // With a preconditioner CG runs on y = x / s (set at the swap).
  std::unique_ptr<ScaledObjective> scaled;

  bool in_cg = options.algorithm == Algorithm::kCg;
  bool cg_started = false;
  double adam_forward = 0.0, adam_backward = 0.0, wall = 0.0;

  for (int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto start = Clock::now();
    EpochRecord record;
    record.epoch = epoch;
    bool finite = true;
    bool stop = false;

    if (!in_cg) {
      const AdamEpochResult r = adam->RunEpoch();
      summary.adam_steps += r.steps;
      adam_forward += r.samples / n_train;
      adam_backward += r.samples / n_train;
      finite = r.finite;
      record.phase = "adam";
      record.step_size = options.adam.learning_rate;
      switch (options.detector.signal) {
        case SwapSignal::kMeanGradientNorm:
          record.gradient_norm = r.mean_gradient_norm;
          break;
        case SwapSignal::kMeanOfNorms:
          record.gradient_norm = r.mean_of_norms;
          break;
        case SwapSignal::kFullBatch:
          full_gradient.resize(p);
          objective.ValueAndGradient(params.values(), full_gradient.data());
          record.gradient_norm = Norm(full_gradient.data(), p);
          break;
      }
      if (finite && options.algorithm == Algorithm::kTwoPhase &&
          detector.Observe(epoch, record.gradient_norm)) {
        in_cg = true;  // CG from the next epoch on, for good
        summary.swap = detector.event();
        const SwapEvent& e = *detector.event();
        char buf[256];
        std::snprintf(buf, sizeof(buf),
                      "swap to CG after epoch %lld by the %s rule: norm %.6g, running max %.6g",
                      static_cast<long long>(e.epoch), e.rule.c_str(), e.norm, e.running_max);
        summary.events.push_back({epoch, "swap", buf});
      }
    } else {
      if (!cg_started) {
        std::vector<float> scale;
        if (options.cg_preconditioner == CgPreconditioner::kAdam && adam) {
          scale = AdamScales(adam->adam(), options.cg_preconditioner_epsilon);
        }
        if (!scale.empty()) {
          scaled = std::make_unique<ScaledObjective>(&objective, std::move(scale));
          std::vector<float> y(p);
          scaled->ToScaled(params.values(), y.data());
          cg.Begin(scaled.get(), y.data());
        } else {
          cg.Begin(&objective, params.values());
        }
        cg_started = true;
      }
      const CgIterationRecord r = cg.Iterate();
      if (scaled) {
        scaled->FromScaled(cg.x().data(), params.values());
      } else {
        std::memcpy(params.values(), cg.x().data(), sizeof(float) * p);
      }
      ++summary.cg_iterations;
      record.phase = "cg";
      record.step_size = r.step;
      record.gradient_norm = r.iteration > 0 ? r.gradient_norm : cg.summary().final_gradient_norm;
      if (r.iteration > 0 && r.line_search_status != LineSearchStatus::kSuccess) {
        summary.events.push_back({epoch, "line-search-failure",
                                  "line search " + LineSearchStatusName(r.line_search_status)});
      }
      const TerminationType t = cg.summary().termination;
      if (t == TerminationType::kNonFinite) {
        finite = false;
      } else if (cg.summary().converged()) {
        summary.status = TrainStatus::kConverged;
        summary.events.push_back({epoch, "converged", cg.summary().message});
        stop = true;
      } else if (t == TerminationType::kLineSearchFailure) {
        summary.status = TrainStatus::kStalled;
        summary.events.push_back({epoch, "line-search-failure", cg.summary().message});
        stop = true;
      }
    }
    record.seconds = SecondsSince(start);
    wall += record.seconds;
    record.wall_seconds = wall;
    const EvaluationCounts& counts = objective.counts();
    record.value_evaluations = counts.values;
    record.gradient_evaluations = counts.gradients;
    record.forward_passes = adam_forward + counts.forward_passes;
    record.backward_passes = adam_backward + counts.backward_passes;

    const auto eval_start = Clock::now();
    const Evaluation on_train = Evaluate(model, data.train, options.loss, options.micro_batch);
    const Evaluation on_test = Evaluate(model, data.test, options.loss, options.micro_batch);
    record.eval_seconds = SecondsSince(eval_start);
    record.train_loss = on_train.loss;
    record.train_accuracy = on_train.accuracy;
    record.test_loss = on_test.loss;
    record.test_accuracy = on_test.accuracy;
    summary.epochs.push_back(record);
    if (on_epoch) on_epoch(record);

    if (!finite || !std::isfinite(record.train_loss) || !std::isfinite(record.gradient_norm)) {
      summary.status = TrainStatus::kDiverged;
      summary.message = "diverged in epoch " + std::to_string(epoch) +
                        ": loss or gradient is NaN or Inf (try a smaller learning rate)";
      summary.events.push_back({epoch, "diverged", summary.message});
      return summary;
    }
    if (stop) {
      summary.message =
          "stopped after epoch " + std::to_string(epoch) + ": " + cg.summary().message;
      return summary;
    }
    const bool out_of_seconds = options.max_seconds > 0 && wall >= options.max_seconds;
    const bool out_of_passes =
        options.max_forward_passes > 0 && record.forward_passes >= options.max_forward_passes;
    if (epoch < options.epochs && (out_of_seconds || out_of_passes)) {
      char buf[160];
      std::snprintf(buf, sizeof(buf), "budget of %g %s reached after epoch %lld",
                    out_of_seconds ? options.max_seconds : options.max_forward_passes,
                    out_of_seconds ? "training seconds" : "forward passes",
                    static_cast<long long>(epoch));
      summary.message = buf;
      summary.events.push_back({epoch, "budget", summary.message});
      return summary;
    }
  }
  summary.message = "completed " + std::to_string(options.epochs) + " epochs";
  return summary;
}

std::string EpochCsvHeader() {
  return "epoch,phase,train_loss,train_accuracy,test_loss,test_accuracy,gradient_norm,step_size,"
         "value_evaluations,gradient_evaluations,forward_passes,backward_passes,seconds,"
         "eval_seconds,wall_seconds";
}

std::string EpochCsvRow(const EpochRecord& r) {
  // An epoch that eval_every left unevaluated has NaN in all four evaluation
  // fields: they are written empty (results/README.md), never "nan", which
  // readers take for divergence, and never 0. An evaluated epoch always has
  // finite accuracies (correct / count), so a diverged run's NaN losses keep
  // their "nan".
  const bool evaluated = !(std::isnan(r.train_loss) && std::isnan(r.train_accuracy) &&
                           std::isnan(r.test_loss) && std::isnan(r.test_accuracy));
  // %.9g round-trips float32 values and keeps the file diffable.
  char evaluation[160] = ",,,";
  if (evaluated) {
    std::snprintf(evaluation, sizeof(evaluation), "%.9g,%.9g,%.9g,%.9g", r.train_loss,
                  r.train_accuracy, r.test_loss, r.test_accuracy);
  }
  char buf[640];
  std::snprintf(buf, sizeof(buf), "%lld,%s,%s,%.9g,%.9g,%lld,%lld,%.9g,%.9g,%.3f,%.3f,%.3f",
                static_cast<long long>(r.epoch), r.phase.c_str(), evaluation, r.gradient_norm,
                r.step_size, static_cast<long long>(r.value_evaluations),
                static_cast<long long>(r.gradient_evaluations), r.forward_passes, r.backward_passes,
                r.seconds, r.eval_seconds, r.wall_seconds);
  return buf;
}

}  // namespace twophase
