#include "training/train_phases.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace twophase {
namespace {

// The batch order's generator: a stream of its own, so that changing how
// the model draws its initial weights does not change the batch order.
constexpr uint64_t kShuffleStream = 0x53485546464c45ull;  // "SHUFFLE"

// The most samples one mini-batch of `train` holds.
int64_t BatchCapacity(const TrainOptions& options, const Dataset& train) {
  return std::min(options.batch_size, std::max<int64_t>(train.count, 1));
}

ConjugateGradientOptions CgOptions(const TrainOptions& options) {
  ConjugateGradientOptions cg = options.cg;
  cg.max_iterations = std::max<int64_t>(options.epochs, 1);
  cg.max_evaluations = 0;
  return cg;
}

}  // namespace

AdamPhase::AdamPhase(Model* model, const Dataset& train, const TrainOptions& options)
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

AdamEpochResult AdamPhase::RunEpoch() {
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
        PlannedPass(options_.Plan(), model_, images_.data(), labels_.data(), n, options_.loss,
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

void AdamPhase::SaveState(StateWriter* w) const {
  adam_.SaveState(w);
  rng_.SaveState(w);
}

bool AdamPhase::LoadState(StateReader* r) { return adam_.LoadState(r) && rng_.LoadState(r); }

CgPhase::CgPhase(TrainingObjective* objective, const TrainOptions& options)
    : objective_(objective), options_(options), cg_(CgOptions(options)) {}

void CgPhase::Start(const float* params, const Adam* adam) {
  std::vector<float> scale;
  if (options_.cg_preconditioner == CgPreconditioner::kAdam && adam != nullptr) {
    scale = AdamScales(*adam, options_.cg_preconditioner_epsilon);
  }
  if (!scale.empty()) {
    scaled_ = std::make_unique<ScaledObjective>(objective_, std::move(scale));
    std::vector<float> y(objective_->size());
    scaled_->ToScaled(params, y.data());
    cg_.Begin(scaled_.get(), y.data());
  } else {
    cg_.Begin(objective_, params);
  }
  started_ = true;
}

CgIterationRecord CgPhase::Step(float* params) {
  const CgIterationRecord r = cg_.Iterate();
  if (scaled_) {
    scaled_->FromScaled(cg_.x().data(), params);
  } else {
    std::memcpy(params, cg_.x().data(), sizeof(float) * cg_.x().size());
  }
  return r;
}

double CgPhase::ParameterGradientNorm() const {
  const std::vector<float>& g = cg_.gradient();
  return scaled_ ? scaled_->UnscaledNorm(g.data()) : Norm(g.data(), static_cast<int64_t>(g.size()));
}

void CgPhase::SaveState(StateWriter* w) const {
  w->Bool(started_);
  if (!started_) return;
  w->Bool(scaled_ != nullptr);
  if (scaled_) w->Floats(scaled_->scale());
  cg_.SaveState(w);
}

bool CgPhase::LoadState(StateReader* r) {
  bool has_scale = false;
  if (!r->Bool("cg.started", &started_)) return false;
  if (!started_) return true;
  if (!r->Bool("cg.has_scale", &has_scale)) return false;
  scaled_.reset();
  if (has_scale) {
    std::vector<float> scale;
    if (!r->Floats("cg.scale", objective_->size(), &scale)) return false;
    scaled_ = std::make_unique<ScaledObjective>(objective_, std::move(scale));
  }
  return cg_.LoadState(scaled_ ? static_cast<Objective*>(scaled_.get()) : objective_, r);
}

}  // namespace twophase
