// The training loss of a model as an Objective over its flat parameter
// vector: what nonlinear CG minimises in phase 2.
//
// Full batch by default (the paper's CG "spends additional forward passes
// per epoch" in its line search, and Adam is "more economical because it
// uses batch gradients"): the mean loss over the first `samples` training
// images, evaluated in fixed chunks in a fixed order, so the value does not
// depend on how the work is split between threads beyond what each kernel
// does, and reruns are bit-identical. Value-only evaluations (line-search
// probes) run the forward pass only.
#ifndef TWOPHASE_TRAINING_TRAINING_OBJECTIVE_H_
#define TWOPHASE_TRAINING_TRAINING_OBJECTIVE_H_

#include <cstdint>
#include <vector>

#include "datasets/dataset.h"
#include "models/loss.h"
#include "models/model.h"
#include "optimizers/objective.h"
#include "training/slot_reduction.h"

namespace twophase {

// One pass over `samples` images (model->input()'s shape, contiguous) and
// their labels in chunks of `chunk` (>= 1), in order: forward, loss (summed over
// samples, in double) and, when `backward`, the gradient of the MEAN loss
// over all `samples` accumulated into the model's gradient buffer.
// `logits` and `dlogits` are scratch (resized as needed). The one loop
// behind Adam's micro-batches, CG's objective and evaluation, so all see
// exactly the same sums.
//
// Why chunks at all: a chunk's activations (~0.6 MB per ViT sample) stay in
// the cache from its forward to its backward pass; a whole mini-batch's do
// not, so chunks of 32 are faster than one pass over 512 (measurements:
// bench/README.md, "Micro-batches").
LossSums ChunkedPass(Model* model, const float* images, const int32_t* labels, int64_t samples,
                     LossKind loss, int64_t chunk, bool backward, std::vector<float>* logits,
                     std::vector<float>* dlogits);
// The same over the first `samples` images of `data`.
LossSums ChunkedPass(Model* model, const Dataset& data, int64_t samples, LossKind loss,
                     int64_t chunk, bool backward, std::vector<float>* logits,
                     std::vector<float>* dlogits);

// What every chunked pass (ChunkedPass, DataParallelPass) shares: the chunk
// clamped to the pass (a micro-batch of 10^9 from the command line is one
// pass, and the scratch is sized by what runs), the scratch, the mean's
// scale, and the model in evaluation mode for a forward-only pass (it need
// not keep what only a backward pass reads), restored when this ends.
class ChunkedPassScope {
 public:
  ChunkedPassScope(Model* model, const float* images, const int32_t* labels, int64_t samples,
                   LossKind loss, int64_t chunk, bool backward, std::vector<float>* logits,
                   std::vector<float>* dlogits);
  ~ChunkedPassScope() { model_->set_training(was_training_); }
  ChunkedPassScope(const ChunkedPassScope&) = delete;
  ChunkedPassScope& operator=(const ChunkedPassScope&) = delete;

  int64_t chunk() const { return chunk_; }
  // Forward, loss and (when backward) backward over the chunk of up to
  // chunk() samples from `start`; the gradient adds into the model's buffer.
  LossSums Step(int64_t start);

 private:
  Model* model_;
  const float* images_;
  const int32_t* labels_;
  int64_t samples_, chunk_, image_size_, classes_;
  LossKind loss_;
  bool backward_, was_training_;
  double scale_;
  std::vector<float>*logits_, *dlogits_;
};

class TrainingObjective final : public Objective {
 public:
  // `samples` = 0: the whole training set. The model and data must outlive
  // this object. Evaluations overwrite the model's parameters with x (and
  // its gradient buffer). `plan`: how the passes run (the slot tree on a
  // cell's ranks, training/slot_reduction.h; default ChunkedPass).
  TrainingObjective(Model* model, const Dataset* data, LossKind loss, int64_t samples = 0,
                    int64_t chunk = 32, PassPlan plan = {});

  int64_t size() const override { return model_->params().size(); }
  std::string name() const override;
  int64_t samples() const { return samples_; }
  Model* model() const { return model_; }

 protected:
  double DoValue(const float* x) override;
  double DoValueAndGradient(const float* x, float* g) override;

 private:
  // Mean loss over the samples; with `gradient`, also its gradient
  // accumulated into the model's gradient buffer.
  double Pass(const float* x, bool gradient);

  Model* model_;
  const Dataset* data_;
  LossKind loss_;
  int64_t samples_;
  int64_t chunk_;
  PassPlan plan_;
  std::vector<float> logits_, dlogits_;
};

}  // namespace twophase

#endif  // TWOPHASE_TRAINING_TRAINING_OBJECTIVE_H_
