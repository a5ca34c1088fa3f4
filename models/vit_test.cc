// The ViT's one structural shortcut: the last block for the class tokens
// only (models/vit.h). It must be the full computation's function and
// gradient, for every variant on every backend.
#include "models/vit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/gradient_check.h"
#include "core/test_seed.h"

namespace twophase {
namespace {

// max |a - b| / max(max |b|, floor).
double RelativeError(const float* a, const float* b, int64_t n, double floor = 1e-3) {
  double diff = 0.0, scale = floor;
  for (int64_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return diff / scale;
}

TEST(VitTest, ClassTokenLastBlockIsTheFullComputation) {
  const uint64_t seed = TestSeed() + 80;
  SCOPED_TRACE(SeedNote(seed));
  const InputShape shape{1, 28, 28, 10};
  const int64_t n = 5;
  const auto images = RandomVector(n * 28 * 28, seed, 0.0f, 1.0f);
  const auto dlogits = RandomVector(n * 10, seed + 1);
  for (const std::string& backend_name : BackendNames()) {
    std::string error;
    auto backend = MakeBackend(backend_name, &error);
    ASSERT_NE(backend, nullptr) << error;
    for (const char* variant :
         {"vit-mlp", "vit-nomlp", "vit-nomlp-wkewq", "vit-nomlp-wkewq-wvwo"}) {
      SCOPED_TRACE(variant);
      VitConfig shortcut, full;
      ASSERT_TRUE(VitConfig::ForVariant(variant, &shortcut));
      full = shortcut;
      full.last_block_class_token_only = false;
      VisionTransformer a(variant, shape, shortcut, backend.get());
      VisionTransformer b(variant, shape, full, backend.get());
      a.Initialize(seed);
      b.Initialize(seed);
      std::vector<float> la(n * 10), lb(n * 10);
      a.Forward(images.data(), n, la.data());
      b.Forward(images.data(), n, lb.data());
      // The same products row by row; only a GEMM's blocking over a different
      // row count may round differently.
      EXPECT_LT(RelativeError(la.data(), lb.data(), n * 10), 1e-5) << backend_name;
      a.params().ZeroGrads();
      b.params().ZeroGrads();
      a.Backward(dlogits.data());
      b.Backward(dlogits.data());
      // Per tensor, against the largest gradient of the model: the key bias
      // has a zero gradient in exact arithmetic (a softmax ignores a constant
      // added to a row), so both sides are rounding noise there.
      const float* ga = a.params().grads();
      const float* gb = b.params().grads();
      double largest = 0.0;
      for (int64_t i = 0; i < b.params().size(); ++i) {
        largest = std::max(largest, std::fabs(static_cast<double>(gb[i])));
      }
      ASSERT_GT(largest, 0.0);
      for (const ParameterView& view : a.params().views()) {
        SCOPED_TRACE(backend_name + " " + view.name);
        EXPECT_LT(RelativeError(ga + view.offset, gb + view.offset, view.size, largest), 1e-5);
      }
    }
  }
}

}  // namespace
}  // namespace twophase
