// The swap detector of Algorithm 1 (Hrycej et al. 2025): Adam runs while
// the landscape is non-convex, where the gradient norm GROWS as the loss
// falls; past the norm's peak the region is convex and CG takes over, for
// good. After each Adam epoch:
//   gnmax = max(gnmax, gn);   swap when gn <= factor * gnmax  (factor 0.9)
// The running max is taken from the start, with no window. The first
// epoch can never swap (gn == gnmax there), so the swap is never before the
// peak.
//
// Signals (what "epoch-wise gradient norm" means is not stated in the
// paper; each choice and its cost):
//  - kMeanGradientNorm: |mean of the epoch's mini-batch gradients| -- free,
//    summed during the epoch. The default.
//  - kMeanOfNorms: mean of |mini-batch gradient| -- free; biased upwards by
//    mini-batch noise, which does not shrink near the minimum.
//  - kFullBatch: |full-batch gradient| at the end of the epoch -- one extra
//    forward and backward pass over the training set.
//  - kCurvature: not a norm but the loss's curvature (issue 17), which the
//    paper's hypothesis is about: swap once the curvature probe (trainer.h,
//    probe_every) has found lambda_min >= -tolerance * lambda_max at
//    `curvature_probes` consecutive probes (CurvatureLooksConvex). The
//    curve's gradient norm is then kMeanGradientNorm's, and the norm rule
//    only runs as the shadow detector.
// Optional exponential smoothing s = a s + (1 - a) gn (a = 0: none), a
// minimum number of Adam epochs, and a fixed swap epoch (the paper's
// published runs swapped after 30 % of the budget) which overrides the
// norm rule.
#ifndef TWOPHASE_OPTIMIZERS_SWAP_DETECTOR_H_
#define TWOPHASE_OPTIMIZERS_SWAP_DETECTOR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/state_io.h"

namespace twophase {

enum class SwapSignal { kMeanGradientNorm, kMeanOfNorms, kFullBatch, kCurvature };
// "mean-gradient", "mean-of-norms", "full-batch", "curvature".
bool ParseSwapSignal(std::string_view name, SwapSignal* signal, std::string* error);
std::string SwapSignalName(SwapSignal signal);

// Which rule fired (SwapEvent, events.json's and metadata.json's swap.rule):
// Algorithm 1's norm rule, SwapDetectorOptions::fixed_epoch or the
// curvature signal.
enum class SwapRule { kPeakFraction, kFixedEpoch, kCurvature };
// "peak-fraction", "fixed-epoch", "curvature".
bool ParseSwapRule(std::string_view name, SwapRule* rule, std::string* error);
std::string SwapRuleName(SwapRule rule);

struct SwapDetectorOptions {
  SwapSignal signal = SwapSignal::kMeanGradientNorm;
  double factor = 0.9;      // in (0, 1)
  double smoothing = 0.0;   // EMA weight a in [0, 1)
  int64_t min_epochs = 1;   // never swap before this many Adam epochs
  int64_t fixed_epoch = 0;  // > 0: swap after exactly this epoch instead
  // The curvature signal (kCurvature): tau and k of the rule above. The
  // defaults come from the probes (README, "The convexity probe").
  double curvature_tolerance = 0.05;  // >= 0
  int64_t curvature_probes = 2;       // >= 1

  bool IsValid(std::string* error) const;
};

// The curvature rule's test of one probe: lambda_min >= -tolerance *
// lambda_max with lambda_max > 0 (a Hessian with no positive curvature is
// not near a minimum). False for NaN.
bool CurvatureLooksConvex(double lambda_min, double lambda_max, double tolerance);

struct SwapEvent {
  int64_t epoch = 0;  // the last Adam epoch
  SwapRule rule = SwapRule::kPeakFraction;
  // The (smoothed) norm signal at the swap and its running max; for the
  // curvature rule, the mean gradient norm and the shadow detector's max.
  double norm = 0.0;
  double running_max = 0.0;
};

void SaveSwapEvent(const SwapEvent& e, StateWriter* w);
bool LoadSwapEvent(StateReader* r, SwapEvent* e);

class SwapDetector {
 public:
  explicit SwapDetector(const SwapDetectorOptions& options);
  // Feeds the signal of Adam epoch `epoch` (1-based, increasing); true when
  // training should switch to CG after this epoch. Once true, stays swapped
  // and further calls return true without changing the event. A NaN or Inf
  // norm never triggers a swap (the caller handles divergence).
  bool Observe(int64_t epoch, double norm);
  bool swapped() const { return event_.has_value(); }
  const std::optional<SwapEvent>& event() const { return event_; }
  double running_max() const { return running_max_; }
  double smoothed() const { return smoothed_; }
  // Everything Observe reads, for checkpoints.
  void SaveState(StateWriter* w) const;
  bool LoadState(StateReader* r);

 private:
  SwapDetectorOptions options_;
  double running_max_ = 0.0;
  double smoothed_ = 0.0;
  bool has_smoothed_ = false;
  std::optional<SwapEvent> event_;
};

}  // namespace twophase

#endif  // TWOPHASE_OPTIMIZERS_SWAP_DETECTOR_H_
