// The two phases of a training run, each a class that owns its optimizer's
// state and can save and restore it (checkpoints):
//  - AdamPhase: mini-batch Adam, one epoch at a time, with the swap
//    detector's free gradient-norm signals summed along the way;
//  - CgPhase: nonlinear CG on the training objective, one iteration per
//    epoch, optionally on variables scaled by Adam's second moment.
// Train (trainer.h) drives them; they are separate so that the loop reads
// as the algorithm and each phase's state is in one place.
#ifndef TWOPHASE_TRAINING_TRAIN_PHASES_H_
#define TWOPHASE_TRAINING_TRAIN_PHASES_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "core/rng.h"
#include "core/state_io.h"
#include "datasets/dataset.h"
#include "models/model.h"
#include "optimizers/adam.h"
#include "optimizers/conjugate_gradient.h"
#include "optimizers/scaled_objective.h"
#include "training/trainer.h"
#include "training/training_objective.h"

namespace twophase {

struct AdamEpochResult {
  bool finite = true;
  int64_t steps = 0;
  int64_t samples = 0;              // samples that went into steps
  double mean_gradient_norm = 0.0;  // |mean of the mini-batch gradients|
  double mean_of_norms = 0.0;       // mean of |mini-batch gradient|
};

class AdamPhase {
 public:
  AdamPhase(Model* model, const Dataset& train, const TrainOptions& options);

  AdamEpochResult RunEpoch();
  const Adam& adam() const { return adam_; }
  // Adam's moments and step count, and the batch order's generator.
  void SaveState(StateWriter* w) const;
  bool LoadState(StateReader* r);

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

class CgPhase {
 public:
  // `objective` must outlive this. max_iterations is the epoch budget.
  CgPhase(TrainingObjective* objective, const TrainOptions& options);

  // The first CG epoch: starts CG at the model's parameters, scaled by
  // Adam's second moment when the options ask for it and `adam` is given.
  void Start(const float* params, const Adam* adam);
  bool started() const { return started_; }
  // One CG iteration; writes the new point to `params`.
  CgIterationRecord Step(float* params);
  const ConjugateGradient& cg() const { return cg_; }
  // Whether CG runs on variables scaled by Adam's second moment.
  bool preconditioned() const { return scaled_ != nullptr; }
  // |gradient of the loss in the parameters| at CG's point: CG's own |g|
  // without a preconditioner; with one, CG's gradient is s ⊙ g in the
  // scaled variables, and this undoes the scaling.
  double ParameterGradientNorm() const;
  // Whether CG has started, the preconditioner's scales and CG's state.
  void SaveState(StateWriter* w) const;
  bool LoadState(StateReader* r);

 private:
  TrainingObjective* objective_;
  const TrainOptions& options_;
  ConjugateGradient cg_;
  // With a preconditioner CG runs on y = x / s (set at the start).
  std::unique_ptr<ScaledObjective> scaled_;
  bool started_ = false;
};

}  // namespace twophase

#endif  // TWOPHASE_TRAINING_TRAIN_PHASES_H_
