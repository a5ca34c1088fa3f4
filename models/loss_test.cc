#include "models/loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "core/gradient_check.h"
#include "core/test_seed.h"

namespace twophase {
namespace {

TEST(LossTest, MseOfUniformPredictionIsKnown) {
  // Equal logits -> p = 1/C everywhere; per sample
  // (1/C) [(1/C - 1)^2 + (C-1)/C^2] = (C-1)/C^2.
  const int64_t n = 3, c = 10;
  std::vector<float> logits(n * c, 0.5f);
  std::vector<int32_t> labels = {0, 4, 9};
  const LossSums s =
      EvaluateLoss(LossKind::kSoftmaxMse, logits.data(), labels.data(), n, c, nullptr, 0.0);
  EXPECT_NEAR(s.loss_sum / n, 9.0 / 100.0, 1e-12);
  // Ties go to the first maximum, class 0: only sample 0 counts as correct.
  EXPECT_EQ(s.correct, 1);
}

TEST(LossTest, CrossEntropyOfUniformPredictionIsLogC) {
  const int64_t n = 2, c = 5;
  std::vector<float> logits(n * c, -3.0f);
  std::vector<int32_t> labels = {1, 2};
  const LossSums s = EvaluateLoss(LossKind::kSoftmaxCrossEntropy, logits.data(), labels.data(), n,
                                  c, nullptr, 0.0);
  EXPECT_NEAR(s.loss_sum / n, std::log(5.0), 1e-6);
}

TEST(LossTest, AccuracyCountsArgmax) {
  std::vector<float> logits = {0, 3, 1, /**/ 5, 1, 2, /**/ 0, 0, 9};
  std::vector<int32_t> labels = {1, 1, 2};
  const LossSums s =
      EvaluateLoss(LossKind::kSoftmaxMse, logits.data(), labels.data(), 3, 3, nullptr, 0.0);
  EXPECT_EQ(s.correct, 2);
}

class LossGradientTest : public ::testing::TestWithParam<LossKind> {};

TEST_P(LossGradientTest, MatchesCentralDifferences) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  const int64_t n = 4, c = 7;
  std::vector<float> logits = RandomVector(n * c, seed, -2.0f, 2.0f);
  std::vector<int32_t> labels = {0, 6, 3, 3};
  std::vector<float> grad(n * c);
  const double scale = 1.0 / n;
  EvaluateLoss(GetParam(), logits.data(), labels.data(), n, c, grad.data(), scale);
  const GradientCheckResult r = CheckGradient(logits.data(), n * c, grad.data(), [&] {
    return scale *
           EvaluateLoss(GetParam(), logits.data(), labels.data(), n, c, nullptr, 0.0).loss_sum;
  });
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.checked, n * c);
}

INSTANTIATE_TEST_SUITE_P(BothLosses, LossGradientTest,
                         ::testing::Values(LossKind::kSoftmaxMse, LossKind::kSoftmaxCrossEntropy));

TEST(LossTest, ParsesNames) {
  LossKind k;
  std::string error;
  ASSERT_TRUE(ParseLossKind("cross-entropy", &k, &error));
  EXPECT_EQ(k, LossKind::kSoftmaxCrossEntropy);
  EXPECT_FALSE(ParseLossKind("hinge", &k, &error));
  EXPECT_NE(error.find("unknown loss 'hinge'"), std::string::npos) << error;
}

}  // namespace
}  // namespace twophase
