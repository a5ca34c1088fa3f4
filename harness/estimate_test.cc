// --dry-run's cost model: the curvature probe's passes are counted.
#include "harness/estimate.h"

#include <gtest/gtest.h>

namespace twophase {
namespace {

TEST(EstimateTest, TheProbeAddsItsGradientsOverItsSubset) {
  TrainOptions t;
  t.epochs = 10;
  const double plain = EstimateSeconds(t, 1000, 100, 1.0, 3.0);
  t.probe.every = 5;  // after epochs 1, 5 and 10
  t.probe.samples = 200;
  t.probe.steps = 4;
  // 3 probes x (2 (4 + 2) + 1) gradients x 200 samples x 3 s.
  EXPECT_DOUBLE_EQ(EstimateSeconds(t, 1000, 100, 1.0, 3.0) - plain, 3 * 13 * 200 * 3.0);
  t.probe.every = 1;    // every epoch, the first among them
  t.probe.samples = 0;  // all 1000
  EXPECT_DOUBLE_EQ(EstimateSeconds(t, 1000, 100, 1.0, 3.0) - plain, 10 * 13 * 1000 * 3.0);
}

}  // namespace
}  // namespace twophase
