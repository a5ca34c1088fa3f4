// Training a model on a data set, epoch by epoch, with one of the three
// algorithms the suite compares, and a full evaluation after each epoch:
//  - adam:      mini-batch Adam for every epoch;
//  - cg:        nonlinear CG on the full-batch loss from the initialisation,
//               one CG iteration (one line search) per epoch, as the paper
//               counts them;
//  - two-phase: Adam until the swap detector fires (Algorithm 1 of Hrycej
//               et al. 2025), then CG from Adam's parameters, for good.
//
// Reproducibility: the batch order comes from a seeded Rng (its own stream,
// independent of the initialisation), every kernel is deterministic for a
// fixed thread count, and sums are taken in a fixed order, so the same seed
// and thread count give bit-identical numbers.
//
// Micro-batches: each mini-batch is processed in passes of
// options.micro_batch samples whose gradients add up to the mini-batch's
// mean gradient (gradient accumulation, as a PyTorch loop that calls
// backward() per micro-batch with the loss divided by the mini-batch size);
// Adam then takes one step. The result differs from a single pass only in
// the rounding of the sums, and is fixed for a fixed micro-batch size.
//
// The last partial batch: like PyTorch's DataLoader (drop_last=False), the
// remaining K mod B samples form a smaller last batch whose gradient is the
// mean over its own samples; drop_last skips it instead.
//
// Cost accounting: forward/backward passes count what the ALGORITHM spends,
// in passes over the training set (an Adam epoch is one of each; a CG line
// search probe is one forward pass). The evaluation after an epoch is
// measurement, timed separately and not counted. It runs every eval_every
// epochs and always after the first and the last epoch, the swap epoch and
// an epoch whose state is saved; it changes nothing the training computes.
//
// Checkpoints (TrainControl): after any epoch Train can hand its whole
// state to a callback, and a later Train given that state continues the run
// bit-identically -- the same parameters, curve and events as a run that
// never stopped, wall times aside.
#ifndef TWOPHASE_TRAINING_TRAINER_H_
#define TWOPHASE_TRAINING_TRAINER_H_

#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/dataset.h"
#include "models/loss.h"
#include "models/model.h"
#include "optimizers/adam.h"
#include "optimizers/conjugate_gradient.h"
#include "optimizers/swap_detector.h"
#include "training/curvature_probe.h"
#include "training/results_format.h"
#include "training/slot_reduction.h"

namespace twophase {

// Which of the three training procedures runs. In the files and on the
// command line its name is the "optimizer" (a suite entry's "optimizer",
// metadata.json's cell.optimizer, `train --optimizer`); an "algorithm" there
// is the suite's label of an entry (e.g. "two-phase-golden"), free text.
enum class Algorithm { kAdam, kCg, kTwoPhase };
// "adam", "cg", "two-phase".
bool ParseAlgorithm(std::string_view name, Algorithm* algorithm, std::string* error);
std::string AlgorithmName(Algorithm algorithm);

// How CG's variables are scaled (optimizers/scaled_objective.h):
//  - none: plain CG on the parameters (the paper's);
//  - adam: diagonal preconditioning by Adam's second moment at the swap,
//    s = 1/sqrt(sqrt(v̂) + eps), fixed for the CG phase (two-phase only;
//    CG alone has no Adam state and runs plain).
enum class CgPreconditioner { kNone, kAdam };
bool ParseCgPreconditioner(std::string_view name, CgPreconditioner* p, std::string* error);
std::string CgPreconditionerName(CgPreconditioner p);

struct TrainOptions {
  Algorithm algorithm = Algorithm::kAdam;
  int64_t epochs = 10;  // the whole budget, Adam and CG epochs together
  int64_t batch_size = 512;
  bool drop_last = false;
  AdamOptions adam;
  LossKind loss = LossKind::kSoftmaxMse;
  // Seeds the batch order (the model is initialised by the caller).
  uint64_t seed = 0;
  // Samples per forward/backward pass: a mini-batch's gradient is summed
  // over micro-batches of this many samples (the same gradient as one pass,
  // up to rounding), and CG's objective and the evaluation run in chunks of
  // this size. An execution setting like the thread count: it changes how
  // the sums are rounded, not what is computed; smaller passes keep their
  // activations in the cache (32: bench/README.md, "Micro-batches").
  int64_t micro_batch = 32;

  // Phase 2. cg.max_iterations and cg.max_evaluations are ignored: the
  // epoch budget rules; the gradient and function tolerances end training
  // early (converged).
  ConjugateGradientOptions cg;
  int64_t cg_samples = 0;  // training images in CG's objective; 0: all
  CgPreconditioner cg_preconditioner = CgPreconditioner::kNone;
  // The preconditioner's epsilon is max(adam.epsilon, this): a parameter
  // whose gradient was always ~0 would otherwise get a scale of 1e4.
  double cg_preconditioner_epsilon = 1e-6;
  SwapDetectorOptions detector;

  // Optional caps that end training early, checked after each epoch (0:
  // none): cumulative training wall seconds (evaluation excluded) and
  // forward passes over the training data. A seconds cap makes the number
  // of epochs depend on the machine's speed.
  double max_seconds = 0.0;
  double max_forward_passes = 0.0;
  // The full evaluation runs after every this many epochs (see above);
  // unevaluated epochs have NaN losses and accuracies in their records.
  int64_t eval_every = 1;
  // The curvature probe along the run (training/curvature_probe.h): after
  // epoch 1 and every probe.every epochs, measured like the evaluation (not
  // counted in the passes, timed apart, changes nothing the training
  // computes), except that the swap detector's curvature signal reads it.
  CurvatureProbeOptions probe;

  // Data-parallel cells (training/slot_reduction.h). 0: every pass
  // accumulates its chunks' gradients in one buffer (all results before
  // issue 15). R >= 1 (a power of two): passes reduce per-chunk gradients
  // by the slot tree, whose bits do not depend on R, computed by the R
  // ranks of `group`. The fingerprint records the tree, not R: a
  // checkpoint resumes on any R.
  int64_t ranks_per_cell = 0;
  // The cell's ranks (R of them), all running the same Train; null: this
  // process computes every slot. Execution, not an option: never recorded.
  Communicator* group = nullptr;

  // How the passes run, from the two above.
  PassPlan Plan() const { return {ranks_per_cell >= 1, group}; }

  bool IsValid(std::string* error) const;
};

// One line of the training log.
struct EpochRecord {
  int64_t epoch = 0;
  Phase phase = Phase::kAdam;
  // Full pass over the training set after the epoch; NaN with the three
  // below on an epoch that was not evaluated (eval_every).
  double train_loss = 0.0;
  double train_accuracy = 0.0;
  double test_loss = 0.0;
  double test_accuracy = 0.0;
  // Adam: the swap detector's signal (by default the norm of the mean of
  // the epoch's mini-batch gradients); CG: the full-batch gradient norm
  // after the iteration. Always the loss's gradient in the parameters.
  double gradient_norm = 0.0;
  // CG with a preconditioner (cg_preconditioner adam): the gradient norm in
  // CG's scaled variables, the one its gradient tolerance tests; none on
  // every other row. A version-1 checkpoint's rows have none either: they
  // hold the scaled norm in gradient_norm, as that build wrote it.
  std::optional<double> scaled_gradient_norm;
  double step_size = 0.0;  // Adam: learning rate; CG: the line search's alpha
  // Cumulative over the run: CG's objective evaluations, and the passes
  // over the training data the algorithm spent.
  int64_t value_evaluations = 0;
  int64_t gradient_evaluations = 0;
  double forward_passes = 0.0;
  double backward_passes = 0.0;
  double seconds = 0.0;       // wall time of this epoch's training work
  double eval_seconds = 0.0;  // wall time of the two evaluation passes
  double wall_seconds = 0.0;  // cumulative training time (evaluation excluded)
  // Set on the epochs the curvature probe ran after (TrainOptions::probe).
  std::optional<CurvatureReading> curvature;

  // False on an epoch eval_every skipped: all four evaluation fields NaN
  // (an evaluated diverged epoch has NaN losses but finite accuracies).
  bool evaluated() const {
    return !(std::isnan(train_loss) && std::isnan(train_accuracy) && std::isnan(test_loss) &&
             std::isnan(test_accuracy));
  }
};

// Something that happened during a run, besides the epochs.
struct TrainEvent {
  int64_t epoch = 0;
  EventKind kind = EventKind::kSwap;
  std::string message;
};

// TrainStatus: training/results_format.h, with its cell status.

struct TrainSummary {
  TrainStatus status = TrainStatus::kCompleted;
  std::string message;
  std::vector<EpochRecord> epochs;
  std::vector<TrainEvent> events;
  std::optional<SwapEvent> swap;
  int64_t adam_steps = 0;
  int64_t cg_iterations = 0;
  // Set when TrainControl::resume_state could not be used; nothing ran.
  std::string resume_error;
};

struct Evaluation {
  double loss = 0.0;  // mean over samples
  double accuracy = 0.0;
};

// Forward-only pass over a data set in fixed chunks (`plan`: how).
Evaluation Evaluate(Model* model, const Dataset& data, LossKind loss, int64_t chunk,
                    const PassPlan& plan = {});

// Checkpoints and pausing; every member is optional.
struct TrainControl {
  // A state saved by an earlier Train of the same model, data and options
  // (the caller checks that; training/checkpoint.h): training continues
  // after the epoch it was saved at. A state that does not fit (another
  // parameter count, a truncated stream) makes Train fail before it
  // changes anything (TrainSummary::resume_error).
  std::string_view resume_state;
  // Called once the state is restored, with the run so far (its curve and
  // events), before the next epoch runs.
  std::function<void(const TrainSummary& so_far)> on_resume;
  // Asked after each epoch's training work: save the state after this
  // epoch? (A cadence of epochs or seconds.)
  std::function<bool(int64_t epoch)> checkpoint_due;
  // Asked after each epoch's training work: stop after this epoch with a
  // saved state (kPaused)? (A signal, a time slice.)
  std::function<bool()> pause_requested;
  // Receives the state after `epoch`, after on_epoch saw its record. A
  // failure is recorded as a "checkpoint-failed" event; training goes on.
  std::function<bool(int64_t epoch, const std::string& state, std::string* error)> save;
};

// The control of a cell's rank other than the first (TrainOptions::group):
// the same questions are asked -- Train takes rank 0's answers to the ones
// that read a clock or a signal, so every rank of the cell ends, pauses and
// saves after the same epoch -- but only the first rank writes: `save`
// becomes a no-op that succeeds.
TrainControl FollowerControl(TrainControl control);

// Trains `model` (already initialised). `on_epoch` (optional) is called
// after each epoch, e.g. to print and write the CSV. Stops early with
// kDiverged if a loss or gradient becomes NaN or Inf (the parameters are
// never updated with a non-finite gradient), and with kConverged when CG
// meets its tolerances.
TrainSummary Train(Model* model, const DataSplit& data, const TrainOptions& options,
                   const std::function<void(const EpochRecord&)>& on_epoch,
                   const TrainControl& control = {});

// The parameters of a saved state (TrainControl::save) and the epoch it
// was saved after, e.g. to start another algorithm from a run's epoch-300
// point. False + *error naming the field when the state does not hold
// `size` parameters.
bool StateParameters(std::string_view state, int64_t size, std::vector<float>* parameters,
                     int64_t* epoch, std::string* error);

// A state saved by a build of an older checkpoint format version in
// today's layout, for TrainControl::resume_state: version 1 came before
// EpochRecord::scaled_gradient_norm, 2 before EpochRecord::curvature (its
// records have none).
std::string UpgradeState(std::string_view state, int version);

// One curve.csv row, in CurveColumn order (the header: CurveCsvHeader()),
// the same columns as the printed log.
std::string EpochCsvRow(const EpochRecord& record);

}  // namespace twophase

#endif  // TWOPHASE_TRAINING_TRAINER_H_
