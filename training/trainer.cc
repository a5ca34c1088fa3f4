#include "training/trainer.h"

#include <cmath>
#include <cstdio>

#include "core/enum_names.h"
#include "core/option_check.h"
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
  if (eval_every < 1) {
    *error = "eval_every must be >= 1, got " + std::to_string(eval_every);
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
  if (!ValidRanksPerCell(ranks_per_cell)) {
    *error = "ranks_per_cell: must be 0 or a power of two, got " + std::to_string(ranks_per_cell);
    return false;
  }
  if (group != nullptr && group->size() != ranks_per_cell) {
    *error = "ranks_per_cell: " + std::to_string(ranks_per_cell) + " but the cell's group has " +
             std::to_string(group->size()) + " ranks";
    return false;
  }
  if (!part("curvature probe", probe.IsValid(error))) return false;
  if (algorithm == Algorithm::kTwoPhase && detector.signal == SwapSignal::kCurvature &&
      probe.every < 1) {
    *error = "swap detector: signal curvature reads the curvature probe: probe_every must be >= 1";
    return false;
  }
  return true;
}

Evaluation Evaluate(Model* model, const Dataset& data, LossKind loss, int64_t chunk,
                    const PassPlan& plan) {
  std::vector<float> logits;
  const LossSums sums = PlannedPass(plan, model, data, data.count, loss, chunk,
                                    /*backward=*/false, &logits, nullptr);
  Evaluation e;
  if (data.count > 0) {
    e.loss = sums.loss_sum / data.count;
    e.accuracy = static_cast<double>(sums.correct) / data.count;
  }
  return e;
}

TrainControl FollowerControl(TrainControl control) {
  if (control.save) control.save = [](int64_t, const std::string&, std::string*) { return true; };
  return control;
}

std::string EpochCsvRow(const EpochRecord& r) {
  // An epoch that eval_every left unevaluated has NaN in all four evaluation
  // fields: they are written empty (results/README.md), never "nan", which
  // readers take for divergence, and never 0. An evaluated epoch always has
  // finite accuracies (correct / count), so a diverged run's NaN losses keep
  // their "nan".
  const bool evaluated = r.evaluated();
  // %.9g round-trips float32 values and keeps the file diffable.
  char evaluation[160] = ",,,";
  if (evaluated) {
    std::snprintf(evaluation, sizeof(evaluation), "%.9g,%.9g,%.9g,%.9g", r.train_loss,
                  r.train_accuracy, r.test_loss, r.test_accuracy);
  }
  // Empty where CG ran without a preconditioner or Adam ran.
  char scaled[40] = "";
  if (r.scaled_gradient_norm)
    std::snprintf(scaled, sizeof(scaled), "%.9g", *r.scaled_gradient_norm);
  // Empty where the probe did not run.
  char curvature[160] = ",,,,";
  if (const auto& c = r.curvature) {
    std::snprintf(curvature, sizeof(curvature), "%.9g,%.9g,%.9g,%.9g,%.3f", c->lambda_min,
                  c->lambda_max, c->along_gradient, c->along_update, c->seconds);
  }
  char buf[800];
  std::snprintf(buf, sizeof(buf), "%lld,%s,%s,%.9g,%s,%.9g,%lld,%lld,%.9g,%.9g,%.3f,%.3f,%.3f,%s",
                static_cast<long long>(r.epoch), PhaseName(r.phase).c_str(), evaluation,
                r.gradient_norm, scaled, r.step_size, static_cast<long long>(r.value_evaluations),
                static_cast<long long>(r.gradient_evaluations), r.forward_passes, r.backward_passes,
                r.seconds, r.eval_seconds, r.wall_seconds, curvature);
  return buf;
}

}  // namespace twophase
