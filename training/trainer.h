// Mini-batch Adam training of a model on a data set, epoch by epoch, with a
// full evaluation after each epoch.
//
// Reproducibility: the batch order comes from a seeded Rng (its own stream,
// independent of the initialisation), every kernel is deterministic for a
// fixed thread count, and sums are taken in a fixed order, so the same seed
// and thread count give bit-identical numbers.
//
// The last partial batch: like PyTorch's DataLoader (drop_last=False), the
// remaining K mod B samples form a smaller last batch whose gradient is the
// mean over its own samples; drop_last skips it instead.
#ifndef TWOPHASE_TRAINING_TRAINER_H_
#define TWOPHASE_TRAINING_TRAINER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "models/loss.h"
#include "models/model.h"
#include "optimizers/adam.h"

namespace twophase {

struct TrainOptions {
  int64_t epochs = 10;
  int64_t batch_size = 512;
  bool drop_last = false;
  AdamOptions adam;
  LossKind loss = LossKind::kSoftmaxMse;
  // Seeds the batch order (the model is initialised by the caller).
  uint64_t seed = 0;
  // Forward passes for evaluation go in chunks of this many samples; the
  // chunking is fixed, so results do not depend on it changing elsewhere.
  int64_t eval_chunk = 512;

  bool IsValid(std::string* error) const;
};

// One line of the training log.
struct EpochRecord {
  int64_t epoch = 0;
  double train_loss = 0.0;  // full pass over the training set after the epoch
  double train_accuracy = 0.0;
  double test_loss = 0.0;
  double test_accuracy = 0.0;
  // Norm of the mean of the epoch's mini-batch gradients: the "epoch-wise
  // gradient norm" that costs nothing extra (Algorithm 1's signal).
  double gradient_norm = 0.0;
  double seconds = 0.0;       // wall time of the epoch's training steps
  double eval_seconds = 0.0;  // wall time of the two evaluation passes
};

enum class TrainStatus { kCompleted, kDiverged };

struct TrainSummary {
  TrainStatus status = TrainStatus::kCompleted;
  std::string message;
  std::vector<EpochRecord> epochs;
  int64_t steps = 0;
};

struct Evaluation {
  double loss = 0.0;  // mean over samples
  double accuracy = 0.0;
};

// Forward-only pass over a data set in fixed chunks.
Evaluation Evaluate(Model* model, const Dataset& data, LossKind loss,
                    int64_t chunk);

// Trains `model` (already initialised) with Adam. `on_epoch` (optional) is
// called after each epoch, e.g. to print and write the CSV. Stops early with
// kDiverged if a loss or gradient becomes NaN or Inf.
TrainSummary TrainAdam(Model* model, const DataSplit& data,
                       const TrainOptions& options,
                       const std::function<void(const EpochRecord&)>& on_epoch);

// CSV header and one row, the same columns as the printed log.
std::string EpochCsvHeader();
std::string EpochCsvRow(const EpochRecord& record);

}  // namespace twophase

#endif  // TWOPHASE_TRAINING_TRAINER_H_
