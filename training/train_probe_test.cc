// The curvature probe along a run (TrainOptions::probe): it measures and
// changes nothing the training computes, it resumes bit-identically, and
// the curvature swap signal swaps where its rule says.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/threads.h"
#include "optimizers/swap_detector.h"
#include "training/train_test_util.h"
#include "training/trainer.h"

namespace twophase {
namespace {

TrainOptions Probed(TrainOptions options) {
  options.probe.every = 2;
  options.probe.samples = 32;
  options.probe.steps = 4;
  return options;
}

TEST(TrainProbeTest, ProbesAfterEpochOneAndEveryNthAndChangeNothingElse) {
  SetThreads(1);
  const TrainOptions plain = ShortTwoPhase(5, 2);
  TrainRun without, with;
  Train("onednn", plain, "", false, &without);
  Train("onednn", Probed(plain), "", false, &with);
  ASSERT_EQ(with.summary.epochs.size(), 5u);
  for (const EpochRecord& r : with.summary.epochs) {
    EXPECT_EQ(r.curvature.has_value(), r.epoch == 1 || r.epoch % 2 == 0) << r.epoch;
    if (!r.curvature) continue;
    const CurvatureReading& c = *r.curvature;
    EXPECT_TRUE(std::isfinite(c.lambda_min) && std::isfinite(c.lambda_max)) << r.epoch;
    EXPECT_LT(c.lambda_min, c.lambda_max) << r.epoch;
    EXPECT_TRUE(std::isfinite(c.along_gradient)) << r.epoch;
    EXPECT_TRUE(std::isfinite(c.along_update)) << r.epoch;  // every epoch moves
    EXPECT_GT(c.seconds, 0) << r.epoch;
  }
  // Measurement only: the same curve, events and parameters, and the
  // probe's passes are not the algorithm's.
  TrainRun stripped = std::move(with);
  for (EpochRecord& r : stripped.summary.epochs) r.curvature.reset();
  ExpectSameRun(without, stripped);
}

TEST(TrainProbeTest, AProbedRunResumesBitIdenticallyAndItsVersion2StateUpgrades) {
  SetThreads(1);
  const TrainOptions options = Probed(ShortTwoPhase(5, 3));
  TrainRun saving;
  Train("blas", options, "", true, &saving);
  ASSERT_TRUE(saving.states.count(2));
  TrainRun resumed;
  Train("blas", options, saving.states[2], false, &resumed);
  ASSERT_TRUE(resumed.summary.resume_error.empty()) << resumed.summary.resume_error;
  ExpectSameRun(saving, resumed);

  // The state after epoch 2 ends with the curvature list: its count (8
  // bytes) and two (epoch, 5 numbers) entries (48 each). Without it, it is
  // a version-2 state, which resumes once upgraded, its epochs unprobed.
  const std::string& state = saving.states[2];
  const std::string version2 = state.substr(0, state.size() - 8 - 2 * 48);
  TrainRun truncated;
  Train("blas", options, version2, false, &truncated);
  EXPECT_NE(truncated.summary.resume_error.find("curvature: truncated"), std::string::npos)
      << truncated.summary.resume_error;
  TrainRun upgraded;
  Train("blas", options, UpgradeState(version2, 2), false, &upgraded);
  ASSERT_TRUE(upgraded.summary.resume_error.empty()) << upgraded.summary.resume_error;
  TrainRun expected = std::move(saving);
  for (EpochRecord& r : expected.summary.epochs) {
    if (r.epoch <= 2) r.curvature.reset();
  }
  ExpectSameRun(expected, upgraded);
}

// The rule, read back off the curve: the swap comes after the first epoch
// whose probe and the k - 1 probes before it all looked convex.
int64_t ExpectedCurvatureSwap(const TrainSummary& s, const SwapDetectorOptions& d) {
  int64_t streak = 0;
  for (const EpochRecord& r : s.epochs) {
    if (!r.curvature) continue;
    const bool convex = CurvatureLooksConvex(r.curvature->lambda_min, r.curvature->lambda_max,
                                             d.curvature_tolerance);
    streak = convex ? streak + 1 : 0;
    if (streak >= d.curvature_probes && r.epoch >= d.min_epochs) return r.epoch;
  }
  return 0;
}

TEST(TrainProbeTest, TheCurvatureSignalSwapsWhereItsRuleSays) {
  SetThreads(1);
  TrainOptions options = Probed(ShortTwoPhase(7, 0));
  options.probe.every = 1;
  options.detector.signal = SwapSignal::kCurvature;
  options.detector.curvature_probes = 2;
  std::string error;
  ASSERT_TRUE(options.IsValid(&error)) << error;
  // Two tolerances: one that every probe of this early, non-convex stretch
  // fails (0: lambda_min >= 0), one that each passes (lambda_max > 0).
  for (const double tolerance : {0.0, 1e6}) {
    options.detector.curvature_tolerance = tolerance;
    TrainRun run;
    Train("onednn", options, "", false, &run);
    const int64_t expected = ExpectedCurvatureSwap(run.summary, options.detector);
    if (tolerance == 0) {
      EXPECT_EQ(expected, 0) << "lambda_min >= 0 this early: pick another case";
      EXPECT_FALSE(run.summary.swap.has_value());
    } else {
      EXPECT_EQ(expected, 2);
      ASSERT_TRUE(run.summary.swap.has_value());
      EXPECT_EQ(run.summary.swap->epoch, expected);
      EXPECT_EQ(run.summary.swap->rule, SwapRule::kCurvature);
      EXPECT_EQ(run.summary.epochs[2].phase, Phase::kCg);
    }
    // Algorithm 1's norm rule still reports where it would have swapped.
    bool shadow = false;
    for (const TrainEvent& e : run.summary.events) shadow |= e.kind == EventKind::kWouldSwap;
    EXPECT_TRUE(shadow || run.summary.swap.has_value());
  }
}

TEST(TrainProbeTest, TheCurvatureSignalNeedsTheProbe) {
  TrainOptions options = ShortTwoPhase(5, 0);
  options.detector.signal = SwapSignal::kCurvature;
  std::string error;
  EXPECT_FALSE(options.IsValid(&error));
  EXPECT_EQ(error,
            "swap detector: signal curvature reads the curvature probe: probe_every must be >= 1");
  options.probe.every = 1;
  options.probe.steps = 0;
  EXPECT_FALSE(options.IsValid(&error));
  EXPECT_EQ(error, "curvature probe: probe_steps must be >= 1, got 0");
  options.probe.steps = 1;
  options.detector.curvature_probes = 0;
  EXPECT_FALSE(options.IsValid(&error));
  EXPECT_EQ(error, "swap detector: curvature_probes must be >= 1, got 0");
}

}  // namespace
}  // namespace twophase
