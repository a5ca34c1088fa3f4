// Train(): the epoch loop of trainer.h, with its state in one object so
// that a checkpoint can save all of it and a resumed run restore it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <utility>

#include "core/state_io.h"
#include "training/train_phases.h"
#include "training/train_state.h"
#include "training/trainer.h"
#include "training/training_objective.h"

namespace twophase {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The decisions that read a clock or a signal, which the ranks of a cell
// (TrainOptions::group) could each take differently: rank 0's, for all.
// The rest of the loop reads only numbers that are the same on every rank.
bool Agreed(Communicator* group, bool value) {
  if (group == nullptr || group->size() == 1) return value;
  char v = value ? 1 : 0;
  group->Broadcast(&v, 1, 0);
  return v != 0;
}

// Algorithm 1's own detector, for the would-swap event of runs that do not
// swap by it: the run's detector settings without a fixed epoch.
SwapDetectorOptions ShadowOptions(SwapDetectorOptions options) {
  options.fixed_epoch = 0;
  return options;
}

class TrainLoop {
 public:
  TrainLoop(Model* model, const DataSplit& data, const TrainOptions& options)
      : model_(model),
        data_(data),
        options_(options),
        detector_(options.detector),
        shadow_(ShadowOptions(options.detector)),
        objective_(model, &data.train, options.loss, options.cg_samples, options.micro_batch,
                   options.Plan()),
        cg_(&objective_, options),
        in_cg_(options.algorithm == Algorithm::kCg) {
    if (options.algorithm != Algorithm::kCg) {
      adam_ = std::make_unique<AdamPhase>(model, data.train, options);
    }
    if (options.probe.every > 0) {
      probe_objective_ = std::make_unique<TrainingObjective>(model, &data.train, options.loss,
                                                             options.probe.samples,
                                                             options.micro_batch, options.Plan());
    }
  }

  TrainSummary Run(const std::function<void(const EpochRecord&)>& on_epoch,
                   const TrainControl& control);

 private:
  struct EpochEnd {
    bool finite = true;    // no NaN/Inf in the training work
    bool stop = false;     // CG converged or stalled
    bool swapped = false;  // the swap came after this epoch
  };

  EpochEnd AdamEpoch(EpochRecord* record);
  // After an Adam epoch (and its probe): Algorithm 1's detector, the
  // curvature rule and the shadow detector. True when CG takes over.
  bool ObserveSwap(int64_t epoch, const EpochRecord& record);
  bool CurvatureSwapDue(int64_t epoch, const EpochRecord& record) const;
  EpochEnd CgEpoch(int64_t epoch, EpochRecord* record);
  CurvatureReading Probe() const;
  void Evaluate(EpochRecord* record);
  std::string SaveState() const;
  bool LoadState(std::string_view state, std::string* error);

  Model* model_;
  const DataSplit& data_;
  const TrainOptions& options_;
  SwapDetector detector_, shadow_;
  TrainingObjective objective_;  // CG's, also the full-batch swap signal's
  std::unique_ptr<AdamPhase> adam_;
  CgPhase cg_;
  std::vector<float> full_gradient_;
  std::unique_ptr<TrainingObjective> probe_objective_;  // the probe's subset
  std::vector<float> epoch_start_;                      // the parameters before a probed epoch
  // The state between epochs, besides the phases' own.
  int64_t epoch_ = 0;  // the last epoch done
  bool in_cg_;
  double adam_forward_ = 0.0, adam_backward_ = 0.0, wall_ = 0.0;
  TrainSummary summary_;
};

TrainLoop::EpochEnd TrainLoop::AdamEpoch(EpochRecord* record) {
  const AdamEpochResult r = adam_->RunEpoch();
  const double n_train = static_cast<double>(std::max<int64_t>(data_.train.count, 1));
  summary_.adam_steps += r.steps;
  adam_forward_ += r.samples / n_train;
  adam_backward_ += r.samples / n_train;
  EpochEnd end;
  end.finite = r.finite;
  record->phase = Phase::kAdam;
  record->step_size = options_.adam.learning_rate;
  switch (options_.detector.signal) {
    case SwapSignal::kMeanGradientNorm:
    case SwapSignal::kCurvature:  // the norm the shadow detector reads
      record->gradient_norm = r.mean_gradient_norm;
      break;
    case SwapSignal::kMeanOfNorms:
      record->gradient_norm = r.mean_of_norms;
      break;
    case SwapSignal::kFullBatch: {
      const int64_t p = model_->params().size();
      full_gradient_.resize(p);
      objective_.ValueAndGradient(model_->params().values(), full_gradient_.data());
      record->gradient_norm = Norm(full_gradient_.data(), p);
      break;
    }
  }
  return end;
}

bool TrainLoop::ObserveSwap(int64_t epoch, const EpochRecord& record) {
  const bool two_phase = options_.algorithm == Algorithm::kTwoPhase;
  const bool by_curvature =
      options_.detector.signal == SwapSignal::kCurvature && options_.detector.fixed_epoch == 0;
  // The shadow detector: where Algorithm 1 would have swapped on this
  // trajectory, in runs that do not swap by it (adam, a fixed swap epoch,
  // the curvature signal).
  const bool shadowed = options_.algorithm == Algorithm::kAdam ||
                        (two_phase && (options_.detector.fixed_epoch > 0 || by_curvature));
  if (shadowed && !shadow_.swapped() && shadow_.Observe(epoch, record.gradient_norm)) {
    const SwapEvent& e = *shadow_.event();
    const SwapSignal signal = options_.detector.signal;
    const SwapSignal norm =
        signal == SwapSignal::kCurvature ? SwapSignal::kMeanGradientNorm : signal;
    summary_.events.push_back(
        {epoch, EventKind::kWouldSwap,
         Printf("Algorithm 1's detector (%g x running max of the %s norm) would have swapped "
                "after epoch %lld: norm %.6g, running max %.6g",
                options_.detector.factor, SwapSignalName(norm).c_str(),
                static_cast<long long>(e.epoch), e.norm, e.running_max)});
  }
  if (!two_phase) return false;
  if (by_curvature) {
    if (!CurvatureSwapDue(epoch, record)) return false;
    summary_.swap =
        SwapEvent{epoch, SwapRule::kCurvature, record.gradient_norm, shadow_.running_max()};
    summary_.events.push_back(
        {epoch, EventKind::kSwap,
         Printf("swap to CG after epoch %lld by the curvature rule: lambda_min %.6g >= -%g x "
                "lambda_max %.6g at %lld consecutive probes",
                static_cast<long long>(epoch), record.curvature->lambda_min,
                options_.detector.curvature_tolerance, record.curvature->lambda_max,
                static_cast<long long>(options_.detector.curvature_probes))});
    return true;
  }
  if (!detector_.Observe(epoch, record.gradient_norm)) return false;
  summary_.swap = detector_.event();
  const SwapEvent& e = *detector_.event();
  summary_.events.push_back(
      {epoch, EventKind::kSwap,
       Printf("swap to CG after epoch %lld by the %s rule: norm %.6g, running max %.6g",
              static_cast<long long>(e.epoch), SwapRuleName(e.rule).c_str(), e.norm,
              e.running_max)});
  return true;
}

// The last curvature_probes probes, this epoch's the latest, all look
// convex. The streak is read off the curve, so a resumed run needs no state
// of its own for it.
bool TrainLoop::CurvatureSwapDue(int64_t epoch, const EpochRecord& record) const {
  const SwapDetectorOptions& d = options_.detector;
  if (epoch < d.min_epochs || !record.curvature) return false;
  auto convex = [&d](const CurvatureReading& c) {
    return CurvatureLooksConvex(c.lambda_min, c.lambda_max, d.curvature_tolerance);
  };
  if (!convex(*record.curvature)) return false;
  int64_t streak = 1;
  for (auto r = summary_.epochs.rbegin();
       r != summary_.epochs.rend() && streak < d.curvature_probes; ++r) {
    if (!r->curvature) continue;
    if (!convex(*r->curvature)) return false;
    ++streak;
  }
  return streak >= d.curvature_probes;
}

CurvatureReading TrainLoop::Probe() const {
  LanczosOptions lanczos;
  lanczos.steps = options_.probe.steps;
  lanczos.seed = options_.seed;
  const bool has_start = !epoch_start_.empty();
  return ProbeCurvature(probe_objective_.get(), model_->params().values(),
                        has_start ? epoch_start_.data() : nullptr, lanczos, 0);
}

TrainLoop::EpochEnd TrainLoop::CgEpoch(int64_t epoch, EpochRecord* record) {
  ParameterBuffer& params = model_->params();
  if (!cg_.started()) cg_.Start(params.values(), adam_ ? &adam_->adam() : nullptr);
  const CgIterationRecord r = cg_.Step(params.values());
  const ConjugateGradient& cg = cg_.cg();
  ++summary_.cg_iterations;
  record->phase = Phase::kCg;
  record->step_size = r.step;
  // CG's |g| is in its own variables; the column means the loss's gradient
  // in the parameters on every row, so a preconditioned CG's norm moves to
  // its own column (else the curve jumps by the scaling at the swap).
  const double cg_norm = r.iteration > 0 ? r.gradient_norm : cg.summary().final_gradient_norm;
  if (cg_.preconditioned()) {
    record->scaled_gradient_norm = cg_norm;
    record->gradient_norm = cg_.ParameterGradientNorm();
  } else {
    record->gradient_norm = cg_norm;
  }
  if (r.iteration > 0 && r.line_search_status != LineSearchStatus::kSuccess) {
    summary_.events.push_back({epoch, EventKind::kLineSearchFailure,
                               "line search " + LineSearchStatusName(r.line_search_status)});
  }
  EpochEnd end;
  const TerminationType t = cg.summary().termination;
  if (t == TerminationType::kNonFinite) {
    end.finite = false;
  } else if (cg.summary().converged()) {
    summary_.status = TrainStatus::kConverged;
    summary_.events.push_back({epoch, EventKind::kConverged, cg.summary().message});
    end.stop = true;
  } else if (t == TerminationType::kLineSearchFailure) {
    summary_.status = TrainStatus::kStalled;
    summary_.events.push_back({epoch, EventKind::kLineSearchFailure, cg.summary().message});
    end.stop = true;
  }
  return end;
}

void TrainLoop::Evaluate(EpochRecord* record) {
  const auto start = Clock::now();
  const Evaluation on_train =
      twophase::Evaluate(model_, data_.train, options_.loss, options_.micro_batch, options_.Plan());
  const Evaluation on_test =
      twophase::Evaluate(model_, data_.test, options_.loss, options_.micro_batch, options_.Plan());
  record->eval_seconds = SecondsSince(start);
  record->train_loss = on_train.loss;
  record->train_accuracy = on_train.accuracy;
  record->test_loss = on_test.loss;
  record->test_accuracy = on_test.accuracy;
}

std::string TrainLoop::SaveState() const {
  StateWriter w;
  w.I64(epoch_);
  w.Bool(in_cg_);
  for (const double v : {adam_forward_, adam_backward_, wall_}) w.F64(v);
  const EvaluationCounts& counts = objective_.counts();
  w.I64(counts.values);
  w.I64(counts.gradients);
  w.F64(counts.forward_passes);
  w.F64(counts.backward_passes);
  const ParameterBuffer& params = model_->params();
  w.Floats(params.values(), params.size());
  w.I64(summary_.adam_steps);
  w.I64(summary_.cg_iterations);
  w.I64(static_cast<int64_t>(summary_.epochs.size()));
  for (const EpochRecord& r : summary_.epochs) SaveRecord(r, &w);
  w.I64(static_cast<int64_t>(summary_.events.size()));
  for (const TrainEvent& e : summary_.events) {
    w.I64(e.epoch);
    w.String(EventKindName(e.kind));
    w.String(e.message);
  }
  w.Bool(summary_.swap.has_value());
  if (summary_.swap) SaveSwapEvent(*summary_.swap, &w);
  detector_.SaveState(&w);
  shadow_.SaveState(&w);
  w.Bool(adam_ != nullptr);
  if (adam_) adam_->SaveState(&w);
  cg_.SaveState(&w);
  SaveScaledNorms(summary_.epochs, &w);
  SaveCurvature(summary_.epochs, &w);
  return w.bytes();
}

bool TrainLoop::LoadState(std::string_view state, std::string* error) {
  StateReader r(state);
  StateHead head;
  ParameterBuffer& params = model_->params();
  // Into a copy: a state that fails further on leaves the model as it was.
  ReadStateHead(&r, params.size(), &head);
  epoch_ = head.epoch;
  if (r.ok() && (epoch_ < 1 || epoch_ >= options_.epochs)) {
    r.Fail("epoch", Printf("%lld is not in [1, %lld)", static_cast<long long>(epoch_),
                           static_cast<long long>(options_.epochs)));
  }
  in_cg_ = head.in_cg;
  adam_forward_ = head.adam_forward;
  adam_backward_ = head.adam_backward;
  wall_ = head.wall;
  const EvaluationCounts& counts = head.counts;
  const std::vector<float>& values = head.parameters;
  r.I64("adam_steps", &summary_.adam_steps);
  r.I64("cg_iterations", &summary_.cg_iterations);
  int64_t n = 0;
  if (LoadCount(&r, "curve", epoch_, &n)) summary_.epochs.resize(n);
  for (EpochRecord& e : summary_.epochs) LoadRecord(&r, &e);
  // Events: a few per epoch at most (swap, line-search failures, resumes).
  if (LoadCount(&r, "events", 4 * epoch_ + 1024, &n)) summary_.events.resize(n);
  for (TrainEvent& e : summary_.events) {
    r.I64("events.epoch", &e.epoch);
    r.Name("events.kind", &e.kind, ParseEventKind);
    r.String("events.message", &e.message);
  }
  bool has_swap = false;
  if (r.Bool("swap", &has_swap) && has_swap) LoadSwapEvent(&r, &summary_.swap.emplace());
  bool has_adam = false;
  if (r.ok() && detector_.LoadState(&r) && shadow_.LoadState(&r) && r.Bool("has_adam", &has_adam)) {
    if (has_adam != (adam_ != nullptr)) r.Fail("has_adam", "does not match the algorithm");
  }
  if (r.ok() && adam_) adam_->LoadState(&r);
  if (r.ok()) cg_.LoadState(&r);
  if (r.ok()) LoadScaledNorms(&r, &summary_.epochs);
  if (r.ok()) LoadCurvature(&r, &summary_.epochs);
  if (r.ok() && !r.AtEnd()) r.Fail("end", "unexpected bytes after the state");
  if (!r.ok()) {
    *error = r.error();
    return false;
  }
  objective_.RestoreCounts(counts);
  std::copy(values.begin(), values.end(), params.values());
  return true;
}

TrainSummary TrainLoop::Run(const std::function<void(const EpochRecord&)>& on_epoch,
                            const TrainControl& control) {
  if (!control.resume_state.empty()) {
    std::string error;
    if (!LoadState(control.resume_state, &error)) {
      TrainSummary refused;  // nothing of the partly read state
      refused.resume_error = error;
      return refused;
    }
    summary_.events.push_back({epoch_, EventKind::kResume,
                               Printf("resumed after epoch %lld", static_cast<long long>(epoch_))});
    if (control.on_resume) control.on_resume(summary_);
  }
  constexpr double kNotEvaluated = std::numeric_limits<double>::quiet_NaN();
  for (int64_t epoch = epoch_ + 1; epoch <= options_.epochs; ++epoch) {
    const bool probe = ProbeDue(options_.probe, epoch);
    if (probe) {
      const ParameterBuffer& params = model_->params();
      epoch_start_.assign(params.values(), params.values() + params.size());
    }
    const auto start = Clock::now();
    EpochRecord record;
    record.epoch = epoch;
    const bool adam_epoch = !in_cg_;
    EpochEnd end = adam_epoch ? AdamEpoch(&record) : CgEpoch(epoch, &record);
    record.seconds = SecondsSince(start);
    wall_ += record.seconds;
    if (probe && end.finite) record.curvature = Probe();
    if (adam_epoch && end.finite && ObserveSwap(epoch, record)) {
      in_cg_ = true;  // CG from the next epoch on, for good
      end.swapped = true;
    }
    record.wall_seconds = wall_;
    const EvaluationCounts& counts = objective_.counts();
    record.value_evaluations = counts.values;
    record.gradient_evaluations = counts.gradients;
    record.forward_passes = adam_forward_ + counts.forward_passes;
    record.backward_passes = adam_backward_ + counts.backward_passes;
    epoch_ = epoch;

    // The scaled norm too: it is what CG tests (finite together with the
    // unscaled one, as the scale is positive and finite).
    const bool diverging = !end.finite || !std::isfinite(record.gradient_norm) ||
                           !std::isfinite(record.scaled_gradient_norm.value_or(0.0));
    const bool out_of_seconds =
        options_.max_seconds > 0 && Agreed(options_.group, wall_ >= options_.max_seconds);
    const bool out_of_passes =
        options_.max_forward_passes > 0 && record.forward_passes >= options_.max_forward_passes;
    const bool budget = epoch < options_.epochs && (out_of_seconds || out_of_passes);
    const bool last = epoch == options_.epochs || end.stop || diverging || budget;
    const bool pause =
        !last && control.pause_requested && Agreed(options_.group, control.pause_requested());
    const bool save = !last && control.save &&
                      (pause || (control.checkpoint_due &&
                                 Agreed(options_.group, control.checkpoint_due(epoch))));
    const bool evaluated =
        epoch == 1 || last || end.swapped || save || epoch % options_.eval_every == 0;
    if (evaluated) {
      Evaluate(&record);
    } else {
      record.train_loss = record.train_accuracy = kNotEvaluated;
      record.test_loss = record.test_accuracy = kNotEvaluated;
    }
    summary_.epochs.push_back(record);
    if (on_epoch) on_epoch(record);

    if (diverging || (evaluated && !std::isfinite(record.train_loss))) {
      summary_.status = TrainStatus::kDiverged;
      summary_.message = "diverged in epoch " + std::to_string(epoch) +
                         ": loss or gradient is NaN or Inf (try a smaller learning rate)";
      summary_.events.push_back({epoch, EventKind::kDiverged, summary_.message});
      return summary_;
    }
    if (end.stop) {
      summary_.message =
          "stopped after epoch " + std::to_string(epoch) + ": " + cg_.cg().summary().message;
      return summary_;
    }
    if (budget) {
      summary_.message = Printf("budget of %g %s reached after epoch %lld",
                                out_of_seconds ? options_.max_seconds : options_.max_forward_passes,
                                out_of_seconds ? "training seconds" : "forward passes",
                                static_cast<long long>(epoch));
      summary_.events.push_back({epoch, EventKind::kBudget, summary_.message});
      return summary_;
    }
    if (save) {
      std::string error;
      if (!control.save(epoch, SaveState(), &error)) {
        summary_.events.push_back({epoch, EventKind::kCheckpointFailed, error});
      }
    }
    if (pause) {
      summary_.status = TrainStatus::kPaused;
      summary_.message = Printf("paused after epoch %lld of %lld", static_cast<long long>(epoch),
                                static_cast<long long>(options_.epochs));
      return summary_;
    }
  }
  summary_.message = "completed " + std::to_string(options_.epochs) + " epochs";
  return summary_;
}

}  // namespace

TrainSummary Train(Model* model, const DataSplit& data, const TrainOptions& options,
                   const std::function<void(const EpochRecord&)>& on_epoch,
                   const TrainControl& control) {
  TrainLoop loop(model, data, options);
  return loop.Run(on_epoch, control);
}

}  // namespace twophase
