// Tests of PatchEmbedding and ClassTokenAndPosition: unfold order on a
// hand-computed example, parameter names and shapes, initialisation, and
// central-difference gradient checks. The seed is printed with every failure
// and can be set with the environment variable TWOPHASE_TEST_SEED.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/gradient_check.h"
#include "core/parameter_buffer.h"
#include "core/rng.h"
#include "core/test_seed.h"
#include "models/layers.h"

namespace twophase {
namespace {

// With an identity weight and zero bias the tokens are the unfolded patches.
// Image pixel values are their own NCHW index, so each expected entry below
// is s*c*h*w + ch*h*w + row*w + col, written out by hand.
TEST(PatchEmbeddingTest, UnfoldsPatchesInChannelRowColumnOrder) {
  const int64_t n = 2, c = 2, h = 4, w = 6, p = 2, dim = c * p * p;
  std::unique_ptr<Backend> backend = MakeBlasBackend();
  ParameterBuffer params;
  PatchEmbedding embed({&params, backend.get()}, "patch", c, h, w, p, dim);
  ASSERT_EQ(embed.num_patches(), 6);
  float* weight = params.value(params.Find("patch.weight")->offset);
  for (int64_t i = 0; i < dim; ++i) weight[i * dim + i] = 1.0f;
  std::vector<float> images(n * c * h * w);
  for (size_t i = 0; i < images.size(); ++i) images[i] = float(i);
  std::vector<float> tokens(n * 6 * dim);
  embed.Forward(images.data(), tokens.data(), n);

  // Patches of sample 0 (h = 4, w = 6: 2 rows of 3 patches); channel 1 is
  // channel 0 plus 24.
  const std::vector<std::vector<float>> sample0 = {
      {0, 1, 6, 7, 24, 25, 30, 31},      // patch row 0, column 0
      {2, 3, 8, 9, 26, 27, 32, 33},      // patch row 0, column 1
      {4, 5, 10, 11, 28, 29, 34, 35},    // patch row 0, column 2
      {12, 13, 18, 19, 36, 37, 42, 43},  // patch row 1, column 0
      {14, 15, 20, 21, 38, 39, 44, 45},  // patch row 1, column 1
      {16, 17, 22, 23, 40, 41, 46, 47},  // patch row 1, column 2
  };
  for (int64_t s = 0; s < n; ++s) {
    for (int64_t patch = 0; patch < 6; ++patch) {
      for (int64_t e = 0; e < dim; ++e) {
        EXPECT_EQ(tokens[(s * 6 + patch) * dim + e], sample0[patch][e] + 48.0f * s)
            << "sample " << s << " patch " << patch << " entry " << e;
      }
    }
  }
}

TEST(PatchEmbeddingTest, ParameterNamesAndShapes) {
  std::unique_ptr<Backend> backend = MakeBlasBackend();
  ParameterBuffer params;
  PatchEmbedding embed({&params, backend.get()}, "patch_embed", 3, 32, 32, 4, 64);
  EXPECT_EQ(embed.num_patches(), 64);
  ASSERT_EQ(params.views().size(), 2u);
  EXPECT_EQ(params.views()[0].name, "patch_embed.weight");
  EXPECT_EQ(params.views()[0].shape, (std::vector<int64_t>{64, 48}));
  EXPECT_EQ(params.views()[1].name, "patch_embed.bias");
  EXPECT_EQ(params.views()[1].shape, (std::vector<int64_t>{64}));
  EXPECT_EQ(params.size(), 64 * 48 + 64);
}

TEST(PatchEmbeddingTest, ParameterGradientsMatchCentralDifferences) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  const int64_t n = 2, c = 2, h = 4, w = 4, p = 2, dim = 3;
  std::unique_ptr<Backend> backend = MakeBlasBackend();
  ParameterBuffer params;
  PatchEmbedding embed({&params, backend.get()}, "patch", c, h, w, p, dim);
  Rng rng(seed);
  embed.Initialize(rng);
  const std::vector<float> images = RandomVector(n * c * h * w, seed + 1);
  const int64_t out = n * embed.num_patches() * dim;
  const std::vector<float> r = RandomVector(out, seed + 2);
  std::vector<float> tokens(out);
  params.ZeroGrads();
  embed.Forward(images.data(), tokens.data(), n);
  embed.Backward(r.data());
  const std::vector<float> grads(params.grads(), params.grads() + params.size());
  auto loss = [&] {
    embed.Forward(images.data(), tokens.data(), n);
    return ProjectedLoss(tokens.data(), r);
  };
  const GradientCheckResult g = CheckGradient(params.values(), params.size(), grads.data(), loss);
  EXPECT_TRUE(g.ok) << g.message;
  EXPECT_EQ(g.checked, dim * c * p * p + dim);
}

TEST(ClassTokenAndPositionTest, NamesShapesAndInitialisation) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  std::unique_ptr<Backend> backend = MakeBlasBackend();
  ParameterBuffer params;
  ClassTokenAndPosition layer({&params, backend.get()}, 64, 64);
  ASSERT_EQ(params.views().size(), 2u);
  EXPECT_EQ(params.views()[0].name, "class_token");
  EXPECT_EQ(params.views()[0].shape, (std::vector<int64_t>{1, 1, 64}));
  EXPECT_EQ(params.views()[1].name, "pos_embedding");
  EXPECT_EQ(params.views()[1].shape, (std::vector<int64_t>{1, 65, 64}));
  for (int64_t i = 0; i < params.size(); ++i) params.values()[i] = 7.0f;
  Rng rng(seed);
  layer.Initialize(rng);
  for (int64_t i = 0; i < 64; ++i) EXPECT_EQ(params.values()[i], 0.0f);
  // 4160 draws of N(0, 0.02^2): the sample mean is within 4 standard errors
  // (0.02/sqrt(4160) ~ 3.1e-4) of 0 and the sample std within 5 % of 0.02.
  const ParameterView* pos = params.Find("pos_embedding");
  double sum = 0.0, sq = 0.0;
  for (int64_t i = 0; i < pos->size; ++i) {
    const double v = params.value(pos->offset)[i];
    sum += v;
    sq += v * v;
  }
  const double mean = sum / pos->size;
  const double sd = std::sqrt(sq / pos->size - mean * mean);
  EXPECT_NEAR(mean, 0.0, 4 * 0.02 / std::sqrt(double(pos->size)));
  EXPECT_NEAR(sd, 0.02, 0.001);
}

TEST(ClassTokenAndPositionTest, PrependsClassTokenAndAddsPositions) {
  const int64_t n = 2, t = 2, d = 3;
  std::unique_ptr<Backend> backend = MakeBlasBackend();
  ParameterBuffer params;
  ClassTokenAndPosition layer({&params, backend.get()}, t, d);
  float* cls = params.value(params.Find("class_token")->offset);
  float* pos = params.value(params.Find("pos_embedding")->offset);
  cls[0] = 1;
  cls[1] = 2;
  cls[2] = 3;
  for (int64_t i = 0; i < (t + 1) * d; ++i) pos[i] = 100.0f * (i + 1);
  std::vector<float> x(n * t * d);
  for (size_t i = 0; i < x.size(); ++i) x[i] = -float(i);
  std::vector<float> y(n * (t + 1) * d);
  layer.Forward(x.data(), y.data(), n);
  const std::vector<float> expected = {101, 202, 303, 400, 499, 598, 697, 796, 895,   // sample 0
                                       101, 202, 303, 394, 493, 592, 691, 790, 889};  // sample 1
  EXPECT_EQ(y, expected);
}

TEST(ClassTokenAndPositionTest, GradientsMatchCentralDifferences) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  const int64_t n = 3, t = 4, d = 5;
  std::unique_ptr<Backend> backend = MakeBlasBackend();
  ParameterBuffer params;
  ClassTokenAndPosition layer({&params, backend.get()}, t, d);
  Rng rng(seed);
  layer.Initialize(rng);
  // A non-zero class token, so that it is not special.
  for (int64_t i = 0; i < d; ++i) params.values()[i] = 0.5f * (i + 1);
  std::vector<float> x = RandomVector(n * t * d, seed + 1);
  const std::vector<float> r = RandomVector(n * (t + 1) * d, seed + 2);
  std::vector<float> y(r.size()), dx(x.size());
  params.ZeroGrads();
  layer.Forward(x.data(), y.data(), n);
  layer.Backward(r.data(), dx.data());
  const std::vector<float> grads(params.grads(), params.grads() + params.size());
  auto loss = [&] {
    layer.Forward(x.data(), y.data(), n);
    return ProjectedLoss(y.data(), r);
  };
  const GradientCheckResult gx = CheckGradient(x.data(), int64_t(x.size()), dx.data(), loss);
  EXPECT_TRUE(gx.ok) << "input: " << gx.message;
  const GradientCheckResult gp = CheckGradient(params.values(), params.size(), grads.data(), loss);
  EXPECT_TRUE(gp.ok) << "parameters: " << gp.message;
  EXPECT_EQ(gp.checked, d + (t + 1) * d);

  // Accumulation: a second Backward (dx not needed) doubles the gradients.
  layer.Backward(r.data(), nullptr);
  for (int64_t i = 0; i < params.size(); ++i) {
    EXPECT_FLOAT_EQ(params.grads()[i], 2.0f * grads[i]) << "at " << i;
  }
}

}  // namespace
}  // namespace twophase
