#include "optimizers/swap_detector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/test_seed.h"

namespace twophase {
namespace {

// Feeds norms[0] as epoch 1, norms[1] as epoch 2, ...; returns the first
// epoch Observe() returned true for, 0 if none.
int64_t FirstSwapEpoch(SwapDetector* detector, const std::vector<double>& norms) {
  for (size_t i = 0; i < norms.size(); ++i) {
    const int64_t epoch = static_cast<int64_t>(i) + 1;
    if (detector->Observe(epoch, norms[i])) return epoch;
  }
  return 0;
}

int64_t FirstSwapEpoch(const SwapDetectorOptions& options, const std::vector<double>& norms) {
  SwapDetector detector(options);
  return FirstSwapEpoch(&detector, norms);
}

TEST(SwapDetectorTest, RisingThenFallingSwapsAtFirstEpochAtNinetyPercentOfPeak) {
  // Peak 10 at epoch 4; 9.5 (95 %) stays with Adam, 9.0 (exactly 90 %:
  // the paper's `adam = gn > 0.9 gnmax` is false) swaps at epoch 6.
  SwapDetector detector{SwapDetectorOptions{}};
  const std::vector<double> norms = {1.0, 4.0, 7.0, 10.0, 9.5, 9.0, 5.0};
  EXPECT_EQ(FirstSwapEpoch(&detector, norms), 6);
  ASSERT_TRUE(detector.event().has_value());
  EXPECT_EQ(detector.event()->epoch, 6);
  EXPECT_EQ(detector.event()->rule, SwapRule::kPeakFraction);
  EXPECT_DOUBLE_EQ(detector.event()->norm, 9.0);
  EXPECT_DOUBLE_EQ(detector.event()->running_max, 10.0);
  EXPECT_DOUBLE_EQ(detector.running_max(), 10.0);
}

TEST(SwapDetectorTest, ThresholdIsInclusiveAndScaleFree) {
  // 0.9 * 10 is 9 exactly in double; a hair above it does not swap.
  EXPECT_EQ(FirstSwapEpoch(SwapDetectorOptions{}, {10.0, 9.000001, 8.999999}), 3);
  // Same sequence scaled by 1e-7 (a converged model's norms): same epoch.
  EXPECT_EQ(FirstSwapEpoch(SwapDetectorOptions{}, {1e-6, 9.000001e-7, 8.999999e-7}), 3);
}

TEST(SwapDetectorTest, NoiseJustAboveNinetyPercentNeverFires) {
  // A norm that rises to a peak and then wanders randomly in
  // (0.9, 1.0] x peak: every value is above the threshold, so no swap.
  const uint64_t seed = TestSeed();
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> noise(0.9000001, 1.0);
  std::vector<double> norms = {0.5, 1.0, 2.0};
  for (int i = 0; i < 500; ++i) norms.push_back(2.0 * noise(rng));
  EXPECT_EQ(FirstSwapEpoch(SwapDetectorOptions{}, norms), 0) << SeedNote(seed);
}

TEST(SwapDetectorTest, NeverSwapsBeforeOrAtThePeak) {
  // Random sequences: the swap epoch (if any) is strictly after the epoch of
  // the running max at the swap, and the swapped norm is <= 0.9 of it, and
  // no earlier epoch satisfied the rule.
  const uint64_t seed = TestSeed();
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<double> norms;
    double level = 1.0;
    for (int i = 0; i < 50; ++i) {
      level *= 0.8 + 0.5 * u(rng);
      norms.push_back(level);
    }
    const int64_t swap = FirstSwapEpoch(SwapDetectorOptions{}, norms);
    double max_so_far = 0.0;
    int64_t expected = 0;
    for (size_t i = 0; i < norms.size(); ++i) {
      max_so_far = std::max(max_so_far, norms[i]);
      if (norms[i] <= 0.9 * max_so_far) {
        expected = static_cast<int64_t>(i) + 1;
        break;
      }
    }
    ASSERT_EQ(swap, expected) << "trial " << trial << ", " << SeedNote(seed);
    if (swap > 0) {
      const auto peak = std::max_element(norms.begin(), norms.begin() + swap);
      EXPECT_LT(peak - norms.begin() + 1, swap) << "trial " << trial << ", " << SeedNote(seed);
    }
  }
}

TEST(SwapDetectorTest, FirstEpochNeverSwaps) {
  EXPECT_EQ(FirstSwapEpoch(SwapDetectorOptions{}, {5.0}), 0);
  // Even an all-zero gradient: the peak must be positive.
  EXPECT_EQ(FirstSwapEpoch(SwapDetectorOptions{}, {0.0, 0.0, 0.0}), 0);
  // Monotonically decreasing from the start: the peak is epoch 1, the swap is
  // the first epoch at <= 90 % of it.
  EXPECT_EQ(FirstSwapEpoch(SwapDetectorOptions{}, {10.0, 9.5, 9.1, 8.9}), 4);
}

TEST(SwapDetectorTest, FixedEpochOverridesTheNormRule) {
  SwapDetectorOptions options;
  options.fixed_epoch = 5;
  // The norm falls to 10 % of its peak at epoch 2; the fixed epoch still
  // decides.
  SwapDetector detector(options);
  EXPECT_EQ(FirstSwapEpoch(&detector, {10.0, 1.0, 1.0, 1.0, 1.0, 1.0}), 5);
  EXPECT_EQ(detector.event()->rule, SwapRule::kFixedEpoch);
  // A rising norm does not prevent it either.
  EXPECT_EQ(FirstSwapEpoch(options, {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}), 5);
  // And it overrides min_epochs.
  options.min_epochs = 100;
  EXPECT_EQ(FirstSwapEpoch(options, {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}), 5);
}

TEST(SwapDetectorTest, MinEpochsDelaysTheSwap) {
  SwapDetectorOptions options;
  options.min_epochs = 4;
  // The rule holds from epoch 2 on; the first allowed epoch is 4.
  EXPECT_EQ(FirstSwapEpoch(options, {10.0, 5.0, 5.0, 5.0, 5.0}), 4);
  // If the norm has recovered above 90 % by then, no swap at 4.
  EXPECT_EQ(FirstSwapEpoch(options, {10.0, 5.0, 5.0, 9.5, 8.0}), 5);
}

TEST(SwapDetectorTest, SmoothingAbsorbsASingleDip) {
  // One noisy dip to 85 % of the peak swaps the raw rule at epoch 4...
  const std::vector<double> norms = {5.0, 10.0, 10.0, 8.5, 10.0, 10.0, 8.0, 7.0, 6.0, 5.0};
  EXPECT_EQ(FirstSwapEpoch(SwapDetectorOptions{}, norms), 4);
  // ... but with EMA a = 0.5 the smoothed signal is
  //   5, 7.5, 8.75, 8.625, 9.3125, 9.65625, 8.828125, ...
  // running max 9.65625 at epoch 6, 0.9 * that = 8.690625; epoch 7's
  // 8.828125 is above, epoch 8's 0.5 * 8.828125 + 0.5 * 7 = 7.9140625 is
  // below: swap at 8.
  SwapDetectorOptions smoothed;
  smoothed.smoothing = 0.5;
  SwapDetector detector(smoothed);
  EXPECT_EQ(FirstSwapEpoch(&detector, norms), 8);
  EXPECT_DOUBLE_EQ(detector.event()->norm, 7.9140625);
  EXPECT_DOUBLE_EQ(detector.event()->running_max, 9.65625);
}

TEST(SwapDetectorTest, NonFiniteNormNeverSwapsNorPoisonsTheState) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  SwapDetector detector{SwapDetectorOptions{}};
  EXPECT_FALSE(detector.Observe(1, 10.0));
  EXPECT_FALSE(detector.Observe(2, nan));
  EXPECT_FALSE(detector.Observe(3, inf));
  EXPECT_FALSE(detector.Observe(4, -inf));
  EXPECT_DOUBLE_EQ(detector.running_max(), 10.0);  // Inf did not become the peak
  EXPECT_FALSE(detector.swapped());
  EXPECT_FALSE(detector.Observe(5, 9.5));
  EXPECT_TRUE(detector.Observe(6, 8.0));  // the rule still works afterwards

  // NaN at the fixed epoch does not swap; the next finite epoch does.
  SwapDetectorOptions fixed;
  fixed.fixed_epoch = 2;
  EXPECT_EQ(FirstSwapEpoch(fixed, {1.0, nan, 1.0}), 3);

  // With smoothing, a NaN does not turn the EMA into NaN.
  SwapDetectorOptions smoothed;
  smoothed.smoothing = 0.5;
  SwapDetector s(smoothed);
  s.Observe(1, 4.0);
  s.Observe(2, nan);
  EXPECT_DOUBLE_EQ(s.smoothed(), 4.0);
}

TEST(SwapDetectorTest, StaysSwappedAndTheEventDoesNotChange) {
  SwapDetector detector{SwapDetectorOptions{}};
  EXPECT_EQ(FirstSwapEpoch(&detector, {10.0, 8.0}), 2);
  const SwapEvent event = *detector.event();
  // Later epochs, even a new higher peak or a NaN, return true and leave the
  // event alone.
  EXPECT_TRUE(detector.Observe(3, 100.0));
  EXPECT_TRUE(detector.Observe(4, std::numeric_limits<double>::quiet_NaN()));
  EXPECT_TRUE(detector.swapped());
  EXPECT_EQ(detector.event()->epoch, event.epoch);
  EXPECT_DOUBLE_EQ(detector.event()->norm, event.norm);
  EXPECT_DOUBLE_EQ(detector.event()->running_max, event.running_max);
}

TEST(SwapDetectorTest, OptionsValidationNamesTheConstraint) {
  std::string error;
  EXPECT_TRUE(SwapDetectorOptions{}.IsValid(&error)) << error;
  SwapDetectorOptions o;
  o.factor = 1.0;
  EXPECT_FALSE(o.IsValid(&error));
  EXPECT_NE(error.find("factor must be in (0, 1)"), std::string::npos) << error;
  o.factor = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(o.IsValid(&error));
  o = SwapDetectorOptions{};
  o.smoothing = 1.0;
  EXPECT_FALSE(o.IsValid(&error));
  EXPECT_NE(error.find("smoothing"), std::string::npos) << error;
  o = SwapDetectorOptions{};
  o.min_epochs = 0;  // the suite's limit, now the only one
  EXPECT_FALSE(o.IsValid(&error));
  EXPECT_NE(error.find("min_epochs must be >= 1, got 0"), std::string::npos) << error;
  o = SwapDetectorOptions{};
  o.fixed_epoch = -3;
  EXPECT_FALSE(o.IsValid(&error));
  EXPECT_NE(error.find("fixed_epoch"), std::string::npos) << error;
}

TEST(SwapDetectorTest, SignalNamesRoundTrip) {
  for (SwapSignal s :
       {SwapSignal::kMeanGradientNorm, SwapSignal::kMeanOfNorms, SwapSignal::kFullBatch}) {
    SwapSignal parsed;
    std::string error;
    ASSERT_TRUE(ParseSwapSignal(SwapSignalName(s), &parsed, &error)) << error;
    EXPECT_EQ(parsed, s);
  }
  SwapSignal parsed;
  std::string error;
  EXPECT_FALSE(ParseSwapSignal("median", &parsed, &error));
  EXPECT_NE(error.find("'median'"), std::string::npos) << error;
}

}  // namespace
}  // namespace twophase
