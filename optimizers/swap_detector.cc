// The swap rule of Algorithm 1 (Hrycej et al. 2025):
//   gnmax = max(gnmax, gn);   adam = gn > 0.9 * gnmax
// i.e. the first epoch whose (optionally smoothed) gradient norm is at most
// `factor` times the running maximum since the start switches to CG, for
// good.
#include "optimizers/swap_detector.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/enum_names.h"
#include "core/option_check.h"

namespace twophase {
namespace {

constexpr EnumName<SwapSignal> kSwapSignals[] = {
    {SwapSignal::kMeanGradientNorm, "mean-gradient"},
    {SwapSignal::kMeanOfNorms, "mean-of-norms"},
    {SwapSignal::kFullBatch, "full-batch"},
    {SwapSignal::kCurvature, "curvature"},
};

constexpr EnumName<SwapRule> kSwapRules[] = {
    {SwapRule::kPeakFraction, "peak-fraction"},
    {SwapRule::kFixedEpoch, "fixed-epoch"},
    {SwapRule::kCurvature, "curvature"},
};

}  // namespace

bool ParseSwapSignal(std::string_view name, SwapSignal* signal, std::string* error) {
  return ParseEnum(name, kSwapSignals, "swap signal", signal, error);
}

std::string SwapSignalName(SwapSignal signal) { return EnumToName(signal, kSwapSignals); }

bool ParseSwapRule(std::string_view name, SwapRule* rule, std::string* error) {
  return ParseEnum(name, kSwapRules, "swap rule", rule, error);
}

std::string SwapRuleName(SwapRule rule) { return EnumToName(rule, kSwapRules); }

bool SwapDetectorOptions::IsValid(std::string* error) const {
  // Comparisons are false for NaN, so NaN fails each range check.
  return CheckOption(factor > 0 && factor < 1, "factor", "in (0, 1)", factor, error) &&
         CheckOption(smoothing >= 0 && smoothing < 1, "smoothing", "in [0, 1)", smoothing, error) &&
         // Epochs count from 1, so 0 would mean what 1 means; the suite has
         // always demanded >= 1, and one limit serves the suite and the CLI.
         CheckOption(min_epochs >= 1, "min_epochs", ">= 1", static_cast<double>(min_epochs),
                     error) &&
         CheckOption(fixed_epoch >= 0, "fixed_epoch", ">= 0 (0: use the norm rule)",
                     static_cast<double>(fixed_epoch), error) &&
         CheckOption(std::isfinite(curvature_tolerance) && curvature_tolerance >= 0,
                     "curvature_tolerance", ">= 0 and finite", curvature_tolerance, error) &&
         CheckOption(curvature_probes >= 1, "curvature_probes", ">= 1",
                     static_cast<double>(curvature_probes), error);
}

bool CurvatureLooksConvex(double lambda_min, double lambda_max, double tolerance) {
  return lambda_max > 0 && lambda_min >= -tolerance * lambda_max;
}

SwapDetector::SwapDetector(const SwapDetectorOptions& options) : options_(options) {}

bool SwapDetector::Observe(int64_t epoch, double norm) {
  if (event_.has_value()) return true;  // one-way: CG for good
  // A NaN/Inf epoch neither swaps nor enters the running max or the
  // smoothed signal: one diverged epoch would otherwise poison gnmax (Inf)
  // or the EMA (NaN) for the rest of the run. The caller handles divergence.
  if (!std::isfinite(norm)) return false;

  // s = a s + (1 - a) gn, started at the first value (no bias towards 0).
  if (!has_smoothed_) {
    smoothed_ = norm;
    has_smoothed_ = true;
  } else {
    smoothed_ = options_.smoothing * smoothed_ + (1.0 - options_.smoothing) * norm;
  }
  // The running max since the start (no window), of the signal the rule
  // compares: gn <= factor * max(gn_1..gn_k) with gn_k itself included, so
  // the epoch of the peak can never swap.
  running_max_ = std::max(running_max_, smoothed_);

  if (options_.fixed_epoch > 0) {
    // The paper's published runs: swap after exactly this Adam epoch (>=, so
    // an epoch that was skipped for a NaN norm swaps at the next finite one).
    // Overrides the norm rule and min_epochs.
    if (epoch >= options_.fixed_epoch) {
      event_ = SwapEvent{epoch, SwapRule::kFixedEpoch, smoothed_, running_max_};
    }
    return event_.has_value();
  }
  if (epoch < options_.min_epochs) return false;
  // adam = gn > factor * gnmax, i.e. swap when gn <= factor * gnmax. A peak of
  // exactly 0 (every norm so far 0) would satisfy 0 <= 0 on the first epoch;
  // requiring a positive peak keeps the header's promise that the swap is
  // strictly after the peak.
  if (running_max_ > 0.0 && smoothed_ <= options_.factor * running_max_) {
    event_ = SwapEvent{epoch, SwapRule::kPeakFraction, smoothed_, running_max_};
  }
  return event_.has_value();
}

void SwapDetector::SaveState(StateWriter* w) const {
  w->F64(running_max_);
  w->F64(smoothed_);
  w->Bool(has_smoothed_);
  w->Bool(event_.has_value());
  if (event_) SaveSwapEvent(*event_, w);
}

bool SwapDetector::LoadState(StateReader* r) {
  bool has_event = false;
  r->F64("detector.running_max", &running_max_);
  r->F64("detector.smoothed", &smoothed_);
  r->Bool("detector.has_smoothed", &has_smoothed_);
  if (!r->Bool("detector.has_event", &has_event)) return false;
  event_.reset();
  if (!has_event) return true;
  event_.emplace();
  return LoadSwapEvent(r, &*event_);
}

void SaveSwapEvent(const SwapEvent& e, StateWriter* w) {
  w->I64(e.epoch);
  w->String(SwapRuleName(e.rule));
  w->F64(e.norm);
  w->F64(e.running_max);
}

bool LoadSwapEvent(StateReader* r, SwapEvent* e) {
  return r->I64("swap.epoch", &e->epoch) && r->Name("swap.rule", &e->rule, ParseSwapRule) &&
         r->F64("swap.norm", &e->norm) && r->F64("swap.running_max", &e->running_max);
}

}  // namespace twophase
