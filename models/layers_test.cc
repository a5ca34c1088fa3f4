// Central-difference gradient checks of the basic layers (Linear, LayerNorm,
// GELU, ReLU, Softmax, Conv2dSame, MaxPool2x2) on the BLAS backend: with
// loss = ProjectedLoss(y, r), i.e. dy = r, every coordinate of the input and
// of every parameter is checked on small shapes. That the checker's
// tolerances do catch a wrong backward pass is shown once, in
// core/gradient_check_test.cc. The data seed is TWOPHASE_TEST_SEED.
#include "models/layers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/gradient_check.h"
#include "core/parameter_buffer.h"
#include "core/rng.h"
#include "core/test_seed.h"

namespace twophase {
namespace {

// Parameters set to random values (not the layer's init), so that no
// gradient term is hidden by gamma = 1 or beta = 0.
void RandomizeParameters(ParameterBuffer& params, uint64_t seed) {
  const auto v = RandomVector(params.size(), seed, -1.0f, 1.0f);
  std::copy(v.begin(), v.end(), params.values());
}

// A layer under test: `forward` maps the current x (and parameters) to y;
// `backward` maps dy to dx (overwritten) and accumulates parameter
// gradients into `params`.
struct LayerUnderTest {
  ParameterBuffer* params = nullptr;  // null: no parameters
  std::vector<float> x;
  int64_t y_size = 0;
  std::function<void(const float* x, float* y)> forward;
  std::function<void(const float* dy, float* dx)> backward;
};

// Checks d(r . y)/dx and d(r . y)/dp for every parameter p, each coordinate.
// Also checks that Backward accumulates: a second call doubles the
// parameter gradients exactly, and leaves dx as it was.
void ExpectGradientsCorrect(LayerUnderTest& t, uint64_t seed, const GradientCheckOptions& options) {
  const std::vector<float> r = RandomVector(t.y_size, seed + 7);
  std::vector<float> y(t.y_size), dx(t.x.size());
  auto loss = [&]() {
    t.forward(t.x.data(), y.data());
    return ProjectedLoss(y.data(), r);
  };
  loss();
  if (t.params != nullptr) t.params->ZeroGrads();
  t.backward(r.data(), dx.data());

  const GradientCheckResult rx = CheckGradient(t.x.data(), t.x.size(), dx.data(), loss, options);
  EXPECT_TRUE(rx.ok) << "d/dx: " << rx.message;
  EXPECT_EQ(rx.checked, static_cast<int64_t>(t.x.size()));
  if (t.params == nullptr) return;

  const std::vector<float> grads(t.params->grads(), t.params->grads() + t.params->size());
  for (const ParameterView& view : t.params->views()) {
    const GradientCheckResult rp = CheckGradient(t.params->value(view.offset), view.size,
                                                 grads.data() + view.offset, loss, options);
    EXPECT_TRUE(rp.ok) << "d/d " << view.name << ": " << rp.message;
    EXPECT_EQ(rp.checked, view.size) << view.name;
  }

  // Accumulation (+=) into parameter gradients; dx overwritten.
  loss();
  std::vector<float> dx2(t.x.size(), 123.0f);
  t.backward(r.data(), dx2.data());
  EXPECT_EQ(dx2, dx);
  for (int64_t i = 0; i < t.params->size(); ++i) {
    ASSERT_EQ(t.params->grads()[i], 2.0f * grads[i]) << "gradient " << i;
  }
}

// The checker's defaults except for a step of 1e-2 instead of 1e-3, for the
// smooth layers. The numeric derivative's error is about
//   (float rounding of the outputs a coordinate moves) / step
//     + step^2 * |third derivative| / 6,
// and with y ~ 1 the first term, ~1e-7 * sqrt(outputs moved) / step, reaches
// the checker's atol of 1e-4 at step 1e-3 (seen as rare failures over
// hundreds of seeds); at 1e-2 it is ten times smaller while the second term
// stays ~1e-5 (zero for Linear and Conv2dSame, which are linear in x and
// in the weights). ReLU and max-pool keep 1e-3: their inputs are spaced for
// it, and being piecewise linear they have no truncation error.
GradientCheckOptions SmoothOptions() {
  GradientCheckOptions options;
  options.step = 1e-2;
  return options;
}

// Values in [-1, -0.02] U [0.02, 1]: at least 10 steps (1e-3) away from the
// kink of ReLU at 0.
std::vector<float> AwayFromZero(int64_t n, uint64_t seed) {
  auto v = RandomVector(n, seed, -1.0f, 1.0f);
  for (float& e : v) e = std::copysign(0.02f + 0.98f * std::fabs(e), e);
  return v;
}

// Distinct values 0.01 apart in random order: every max-pool window has a
// unique maximum that stays the maximum under a +-1e-3 step.
std::vector<float> DistinctValues(int64_t n, uint64_t seed) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = 0.01f * (i - n / 2);
  Rng rng(seed);
  rng.Shuffle(v.data(), n);
  return v;
}

TEST(LayerGradientTest, Linear) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeBlasBackend();
  for (bool bias : {true, false}) {
    ParameterBuffer params;
    Linear layer({&params, backend.get()}, "fc", 7, 5, bias);
    RandomizeParameters(params, seed + 1);
    const int64_t rows = 3;
    LayerUnderTest t{&params, RandomVector(rows * 7, seed + 2), rows * 5,
                     [&](const float* x, float* y) { layer.Forward(x, y, rows); },
                     [&](const float* dy, float* dx) { layer.Backward(dy, dx); }};
    SCOPED_TRACE(bias ? "with bias" : "without bias");
    ExpectGradientsCorrect(t, seed, SmoothOptions());
  }
}

TEST(LayerGradientTest, LayerNorm) {
  const uint64_t seed = TestSeed() + 1;
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeBlasBackend();
  ParameterBuffer params;
  const int64_t rows = 4, dim = 7;
  LayerNorm layer({&params, backend.get()}, "norm", dim);
  RandomizeParameters(params, seed + 1);
  LayerUnderTest t{&params, RandomVector(rows * dim, seed + 2, -2.0f, 2.0f), rows * dim,
                   [&](const float* x, float* y) { layer.Forward(x, y, rows); },
                   [&](const float* dy, float* dx) { layer.Backward(dy, dx); }};
  ExpectGradientsCorrect(t, seed, SmoothOptions());
}

TEST(LayerGradientTest, Gelu) {
  const uint64_t seed = TestSeed() + 2;
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeBlasBackend();
  Gelu layer(backend.get());
  const int64_t n = 40;
  LayerUnderTest t{nullptr, RandomVector(n, seed + 2, -4.0f, 4.0f), n,
                   [&](const float* x, float* y) { layer.Forward(x, y, n); },
                   [&](const float* dy, float* dx) { layer.Backward(dy, dx); }};
  ExpectGradientsCorrect(t, seed, SmoothOptions());
}

TEST(LayerGradientTest, Relu) {
  const uint64_t seed = TestSeed() + 3;
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeBlasBackend();
  Relu layer(backend.get());
  const int64_t n = 40;
  LayerUnderTest t{nullptr, AwayFromZero(n, seed + 2), n,
                   [&](const float* x, float* y) { layer.Forward(x, y, n); },
                   [&](const float* dy, float* dx) { layer.Backward(dy, dx); }};
  ExpectGradientsCorrect(t, seed, GradientCheckOptions());
}

TEST(LayerGradientTest, Softmax) {
  const uint64_t seed = TestSeed() + 4;
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeBlasBackend();
  Softmax layer(backend.get());
  const int64_t rows = 3, cols = 6;
  LayerUnderTest t{nullptr, RandomVector(rows * cols, seed + 2, -2.0f, 2.0f), rows * cols,
                   [&](const float* x, float* y) { layer.Forward(x, y, rows, cols); },
                   [&](const float* dy, float* dx) { layer.Backward(dy, dx); }};
  ExpectGradientsCorrect(t, seed, SmoothOptions());
}

TEST(LayerGradientTest, Conv2dSame) {
  const uint64_t seed = TestSeed() + 5;
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeBlasBackend();
  // Non-square images, a 1-pixel-high one, and kernels 3, 1 and 5 (5 on a
  // 4-pixel-wide image: pad 2 reaches past the opposite border).
  struct Shape {
    int64_t n, cin, cout, k, h, w;
  };
  for (const Shape& s :
       {Shape{2, 3, 4, 3, 5, 4}, Shape{2, 2, 3, 1, 3, 3}, Shape{1, 2, 2, 5, 1, 4}}) {
    ParameterBuffer params;
    Conv2dSame layer({&params, backend.get()}, "conv", s.cin, s.cout, s.k);
    RandomizeParameters(params, seed + 1);
    LayerUnderTest t{&params, RandomVector(s.n * s.cin * s.h * s.w, seed + 2),
                     s.n * s.cout * s.h * s.w,
                     [&](const float* x, float* y) { layer.Forward(x, y, s.n, s.h, s.w); },
                     [&](const float* dy, float* dx) { layer.Backward(dy, dx); }};
    SCOPED_TRACE("kernel " + std::to_string(s.k));
    ExpectGradientsCorrect(t, seed, SmoothOptions());
  }
}

TEST(LayerGradientTest, MaxPool2x2) {
  const uint64_t seed = TestSeed() + 6;
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeBlasBackend();
  MaxPool2x2 layer(backend.get());
  // Odd height and width: the last row and column get no gradient.
  const int64_t n = 2, c = 2, h = 5, w = 7;
  LayerUnderTest t{nullptr, DistinctValues(n * c * h * w, seed + 2), n * c * (h / 2) * (w / 2),
                   [&](const float* x, float* y) { layer.Forward(x, y, n, c, h, w, true); },
                   [&](const float* dy, float* dx) { layer.Backward(dy, dx); }};
  ExpectGradientsCorrect(t, seed, GradientCheckOptions());
}

TEST(LayerDeathTest, MaxPoolBackwardAfterAnEvaluationForwardEndsTheProgram) {
  auto backend = MakeBlasBackend();
  MaxPool2x2 layer(backend.get());
  const float x[4] = {1.0f, 2.0f, 3.0f, 4.0f};
  float y = 0.0f, dy = 1.0f, dx[4];
  layer.Forward(x, &y, 1, 1, 2, 2, /*training=*/false);
  EXPECT_EQ(y, 4.0f);
  EXPECT_DEATH(layer.Backward(&dy, dx), "after an evaluation-mode Forward");
}

// ------------------------------------------------------------ construction

TEST(LayerInitTest, Conv2dSameFollowsPyTorch) {
  auto backend = MakeBlasBackend();
  ParameterBuffer params;
  Conv2dSame conv({&params, backend.get()}, "features.0", 3, 8, 3);
  const ParameterView* w = params.Find("features.0.weight");
  const ParameterView* b = params.Find("features.0.bias");
  ASSERT_NE(w, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(w->shape, (std::vector<int64_t>{8, 3, 3, 3}));
  EXPECT_EQ(b->shape, (std::vector<int64_t>{8}));
  Rng rng(5);
  conv.Initialize(rng);
  // U(-1/sqrt(27), 1/sqrt(27)) for both, and not degenerate.
  const float bound = 1.0f / std::sqrt(27.0f);
  float lo = 1.0f, hi = -1.0f;
  for (int64_t i = 0; i < params.size(); ++i) {
    EXPECT_LE(std::fabs(params.values()[i]), bound) << i;
    lo = std::min(lo, params.values()[i]);
    hi = std::max(hi, params.values()[i]);
  }
  EXPECT_LT(lo, -0.5f * bound);
  EXPECT_GT(hi, 0.5f * bound);
  // The same seed gives the same weights.
  const std::vector<float> first(params.values(), params.values() + params.size());
  Rng again(5);
  conv.Initialize(again);
  EXPECT_EQ(std::vector<float>(params.values(), params.values() + params.size()), first);
}

TEST(LayerInitTest, LayerNormStartsAsIdentity) {
  auto backend = MakeBlasBackend();
  ParameterBuffer params;
  LayerNorm norm({&params, backend.get()}, "ln", 5);
  RandomizeParameters(params, 3);
  norm.Initialize();
  ASSERT_NE(params.Find("ln.weight"), nullptr);
  ASSERT_NE(params.Find("ln.bias"), nullptr);
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(params.value(params.Find("ln.weight")->offset)[i], 1.0f);
    EXPECT_EQ(params.value(params.Find("ln.bias")->offset)[i], 0.0f);
  }
  // Normalises each row: mean 0, biased variance 1 (up to eps).
  const std::vector<float> x = {1, 2, 3, 4, 10};
  std::vector<float> y(5);
  norm.Forward(x.data(), y.data(), 1);
  double mean = 0.0, var = 0.0;
  for (float v : y) mean += v / 5.0;
  for (float v : y) var += (v - mean) * (v - mean) / 5.0;
  EXPECT_NEAR(mean, 0.0, 1e-6);
  EXPECT_NEAR(var, 1.0, 1e-5);
}

}  // namespace
}  // namespace twophase
