// The analytic FLOP counts: VGG5's against a count by hand from the
// architecture, the ViTs' order and the backward pass's 2x rule.
#include "models/model_flops.h"

#include <gtest/gtest.h>

#include <string>

namespace twophase {
namespace {

const InputShape kMnist{1, 28, 28, 10};

TEST(ModelFlopsTest, Vgg5OnMnistMatchesACountByHand) {
  ModelFlops f;
  ASSERT_TRUE(CountModelFlops("vgg5", kMnist, &f));
  // 3x3 convolutions at 28, 14 and 7 pixels square (pooled after each),
  // 1 -> 32 -> 64 -> 128 channels; dense 128*3*3 -> 64 -> 10; 2 per MAC.
  const double conv1 = 2.0 * 28 * 28 * (1 * 9) * 32;
  const double convs = 2.0 * 14 * 14 * (32 * 9) * 64 + 2.0 * 7 * 7 * (64 * 9) * 128;
  const double dense = 2.0 * 1152 * 64 + 2.0 * 64 * 10;
  EXPECT_DOUBLE_EQ(f.forward, conv1 + convs + dense);
  // No image gradient for the first convolution: its weight gradient only.
  EXPECT_DOUBLE_EQ(f.backward, conv1 + 2 * (convs + dense));
  EXPECT_DOUBLE_EQ(f.train(), f.forward + f.backward);
}

TEST(ModelFlopsTest, TheViTsGrowWithWhatTheyKeep) {
  double previous = 0;
  for (const std::string model :
       {"vit-nomlp-wkewq-wvwo", "vit-nomlp-wkewq", "vit-nomlp", "vit-mlp"}) {
    ModelFlops f;
    ASSERT_TRUE(CountModelFlops(model, kMnist, &f)) << model;
    EXPECT_GT(f.forward, previous) << model;
    // All but the patch embedding's input gradient: just under 2x.
    EXPECT_LT(f.backward, 2 * f.forward) << model;
    EXPECT_GT(f.backward, 1.8 * f.forward) << model;
    previous = f.forward;
  }
  ModelFlops f;
  EXPECT_FALSE(CountModelFlops("vit-huge", kMnist, &f));
}

}  // namespace
}  // namespace twophase
