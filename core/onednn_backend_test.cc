// What is particular to the oneDNN backend: its conventions where oneDNN's
// own differ or could (max-pool ties, ReLU at 0, NaN), the primitive cache
// (shapes and thread counts coming and going), errors, and the metadata.
// The ops' values are checked against the BLAS backend in
// backend_consistency_test.cc, whole models in backend_model_test.cc.
#include "core/onednn_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/backend_test_util.h"
#include "core/gradient_check.h"
#include "core/rng.h"
#include "core/test_seed.h"
#include "core/threads.h"

namespace twophase {
namespace {

using backend_test::BitIdentical;

// oneDNN replaces a window's running maximum only on a strictly larger
// value, scanning the window row by row: ties go to the first element, as
// in PyTorch. Values from {0, 1, 2} make most windows tie; the BLAS backend
// implements PyTorch's rule (checked against it in blas_conv_test.cc).
TEST(OnednnBackendTest, MaxPoolTiesGoToTheFirstElementAsInPyTorch) {
  const uint64_t seed = TestSeed() + 60;
  SCOPED_TRACE(SeedNote(seed));
  auto onednn = MakeOnednnBackend();
  auto blas = MakeBlasBackend();
  Rng rng(seed);
  for (auto [n, c, h, w] :
       {std::array<int64_t, 4>{2, 3, 5, 7}, std::array<int64_t, 4>{4, 32, 28, 28},
        std::array<int64_t, 4>{4, 128, 7, 7}}) {
    std::vector<float> x(n * c * h * w);
    for (float& v : x) v = static_cast<float>(rng.Below(3));
    const int64_t ys = n * c * (h / 2) * (w / 2);
    const auto dy = RandomVector(ys, seed + h);
    std::vector<float> y(ys), want_y(ys), dx(x.size()), want_dx(x.size());
    std::vector<uint8_t> argmax(ys), want_argmax(ys);
    onednn->MaxPool2x2Forward(x.data(), y.data(), argmax.data(), n, c, h, w);
    onednn->MaxPool2x2Backward(argmax.data(), dy.data(), dx.data(), n, c, h, w);
    blas->MaxPool2x2Forward(x.data(), want_y.data(), want_argmax.data(), n, c, h, w);
    blas->MaxPool2x2Backward(want_argmax.data(), dy.data(), want_dx.data(), n, c, h, w);
    EXPECT_EQ(y, want_y) << n << "x" << c << "x" << h << "x" << w;
    EXPECT_EQ(argmax, want_argmax) << n << "x" << c << "x" << h << "x" << w;
    EXPECT_EQ(dx, want_dx) << n << "x" << c << "x" << h << "x" << w;
  }
}

TEST(OnednnBackendTest, ReluGradientIsZeroAtZero) {
  auto backend = MakeOnednnBackend();
  const float x[4] = {0.0f, -0.0f, 1.0f, -1.0f}, dy[4] = {3.0f, 3.0f, 3.0f, 3.0f};
  float y[4], dx[4];
  backend->ReluForward(x, y, 4);
  backend->ReluBackward(x, dy, dx, 4);
  EXPECT_EQ(dx[0], 0.0f);
  EXPECT_EQ(dx[1], 0.0f);
  EXPECT_EQ(dx[2], 3.0f);
  EXPECT_EQ(dx[3], 0.0f);
  EXPECT_EQ(y[2], 1.0f);
  EXPECT_EQ(y[3], 0.0f);
}

// Documents a known difference (see onednn_backend.h): oneDNN's ReLU and
// max-pool drop NaN where PyTorch and the BLAS backend keep it. If a new
// oneDNN propagates NaN, this test fails and the note can go.
TEST(OnednnBackendTest, ReluAndMaxPoolDropNaN) {
  auto backend = MakeOnednnBackend();
  std::vector<float> x(1000, 1.0f), y(1000);
  x[500] = NAN;
  backend->ReluForward(x.data(), y.data(), 1000);
  EXPECT_EQ(y[500], 0.0f);
  const float window[4] = {1.0f, NAN, 3.0f, 2.0f};
  float max = 0.0f;
  backend->MaxPool2x2Forward(window, &max, nullptr, 1, 1, 2, 2);
  EXPECT_EQ(max, 3.0f);
}

// A conv forward and backward plus a linear layer of one shape, into fresh
// buffers (so that a cached primitive still bound to an old buffer shows).
std::vector<float> ConvAndLinear(Backend& backend, int64_t n, int64_t cin, int64_t hw,
                                 uint64_t seed) {
  const int64_t cout = 8, k = 3, xs = n * cin * hw * hw, ys = n * cout * hw * hw;
  const auto x = RandomVector(xs, seed + 1), w = RandomVector(cout * cin * k * k, seed + 2);
  const auto b = RandomVector(cout, seed + 3), dy = RandomVector(ys, seed + 4);
  std::vector<float> y(ys), dx(xs), dw(w.size(), 0.0f), db(cout, 0.0f);
  backend.ConvSameForward(x.data(), w.data(), b.data(), y.data(), n, cin, hw, hw, cout, k);
  backend.ConvSameBackward(x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), n, cin,
                           hw, hw, cout, k);
  // The images flattened into a linear layer: [n, cin*hw*hw] -> [n, cout].
  const int64_t in = cin * hw * hw;
  const auto lw = RandomVector(cout * in, seed + 5);
  std::vector<float> ly(n * cout), ldx(xs), ldw(lw.size(), 0.0f), ldb(cout, 0.0f);
  backend.LinearForward(x.data(), lw.data(), b.data(), ly.data(), n, in, cout);
  backend.LinearBackward(x.data(), lw.data(), ly.data(), ldx.data(), ldw.data(), ldb.data(), n, in,
                         cout);
  std::vector<float> all = y;
  for (const auto* v : {&dx, &dw, &db, &ly, &ldx, &ldw, &ldb}) {
    all.insert(all.end(), v->begin(), v->end());
  }
  return all;
}

// Shapes and thread counts alternate; each result must equal the one the
// same shape and thread count gave first, and agree with BLAS.
TEST(OnednnBackendTest, CacheServesAlternatingShapesAndThreadCounts) {
  const uint64_t seed = TestSeed() + 61;
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeOnednnBackend();
  auto blas = MakeBlasBackend();
  struct Shape {
    int64_t n, cin, hw;
  };
  const Shape shapes[] = {{4, 2, 9}, {3, 8, 6}, {4, 2, 9}};
  std::vector<std::vector<float>> first(6);
  for (int round = 0; round < 2; ++round) {
    for (int threads : {1, 2, 3}) {
      const ScopedThreads thread_count(threads);
      for (int s = 0; s < 3; ++s) {
        const Shape& sh = shapes[s];
        const auto got = ConvAndLinear(*backend, sh.n, sh.cin, sh.hw, seed + (s == 1));
        std::vector<float>& ref = first[(threads - 1) * 2 + (s == 1)];
        if (ref.empty()) {
          ref = got;
          const auto want = ConvAndLinear(*blas, sh.n, sh.cin, sh.hw, seed + (s == 1));
          ASSERT_EQ(got.size(), want.size());
          double largest = 0.0, worst = 0.0;
          for (size_t i = 0; i < want.size(); ++i) {
            largest = std::max(largest, std::fabs(double{want[i]}));
            worst = std::max(worst, std::fabs(double{got[i]} - want[i]));
          }
          EXPECT_LE(worst, 1e-5 * largest) << "threads " << threads << " shape " << s;
        } else {
          EXPECT_TRUE(BitIdentical(got, ref)) << "threads " << threads << " shape " << s;
        }
      }
    }
  }
}

// Ops cannot return errors; a shape oneDNN refuses ends the program with a
// message naming the op instead of letting an exception escape.
TEST(OnednnBackendDeathTest, UnsupportedShapeAbortsWithTheOpName) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto backend = MakeOnednnBackend();
  std::vector<float> x(16, 1.0f), w(4, 1.0f), b(1, 0.0f), y(16);
  // An even kernel has no "same" padding: kernel 2, padding 1 grows the
  // output, which oneDNN rejects against y's shape.
  EXPECT_DEATH(backend->ConvSameForward(x.data(), w.data(), b.data(), y.data(), 1, 1, 4, 4, 1, 2),
               "oneDNN backend: ConvSameForward failed");
}

TEST(OnednnBackendTest, FactoryAndMetadata) {
  std::string error;
  auto backend = MakeBackend("onednn", &error);
  ASSERT_NE(backend, nullptr) << error;
  EXPECT_EQ(backend->name(), "onednn");
  const auto names = BackendNames();
  EXPECT_NE(std::find(names.begin(), names.end(), "onednn"), names.end());
  EXPECT_EQ(MakeBackend("mkl", &error), nullptr);
  EXPECT_NE(error.find("blas, onednn"), std::string::npos) << error;
  EXPECT_EQ(OnednnVersion().rfind("oneDNN ", 0), 0u) << OnednnVersion();
  const std::string settings = OnednnSettingsDescription();
  EXPECT_NE(settings.find("isa "), std::string::npos) << settings;
  EXPECT_NE(settings.find("fpmath strict"), std::string::npos) << settings;
}

}  // namespace
}  // namespace twophase
