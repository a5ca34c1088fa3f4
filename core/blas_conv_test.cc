// The BLAS backend's convolution and max-pool against naive double-precision
// references (see blas_backend_test.cc for the tolerance argument), with the
// batch split into chunks in several ways; bit-identical reruns; the
// backend factory.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/backend.h"
#include "core/backend_test_util.h"
#include "core/blas_backend.h"
#include "core/gradient_check.h"
#include "core/rng.h"
#include "core/threads.h"

namespace twophase {
namespace {

using backend_test::BitIdentical;
using backend_test::ExpectClose;
using backend_test::Ref;

struct ConvShape {
  int64_t n, cin, h, w, cout, k;
  std::string ToString() const {
    return "n=" + std::to_string(n) + " cin=" + std::to_string(cin) + " h=" + std::to_string(h) +
           " w=" + std::to_string(w) + " cout=" + std::to_string(cout) + " k=" + std::to_string(k);
  }
};

// The convolution by its definition, forward and backward, in double:
//   y[i,o,r,c] = b[o] + sum_{ci,ki,kj} w[o,ci,ki,kj] x[i,ci,r+ki-p,c+kj-p]
// and every product's adjoint; dw and db start from dw0 and db0.
struct ConvRef {
  ConvRef(const ConvShape& s, const std::vector<float>& x, const std::vector<float>& w,
          const std::vector<float>& b, const std::vector<float>& dy, const std::vector<float>& dw0,
          const std::vector<float>& db0)
      : y(dy.size()), dx(x.size()), dw(w.size()), db(b.size()) {
    const int64_t p = s.k / 2, hw = s.h * s.w;
    for (size_t i = 0; i < dw0.size(); ++i) {
      dw.val[i] = dw0[i];
      dw.mag[i] = std::fabs(dw0[i]);
    }
    for (size_t i = 0; i < db0.size(); ++i) {
      db.val[i] = db0[i];
      db.mag[i] = std::fabs(db0[i]);
    }
    for (int64_t i = 0; i < s.n; ++i) {
      for (int64_t o = 0; o < s.cout; ++o) {
        for (int64_t r = 0; r < s.h; ++r) {
          for (int64_t c = 0; c < s.w; ++c) {
            const int64_t yi = (i * s.cout + o) * hw + r * s.w + c;
            const double g = dy[yi];
            double sum = b[o], mag = std::fabs(b[o]);
            db.val[o] += g;
            db.mag[o] += std::fabs(g);
            for (int64_t ci = 0; ci < s.cin; ++ci) {
              for (int64_t ki = 0; ki < s.k; ++ki) {
                for (int64_t kj = 0; kj < s.k; ++kj) {
                  const int64_t sr = r + ki - p, sc = c + kj - p;
                  if (sr < 0 || sr >= s.h || sc < 0 || sc >= s.w) continue;
                  const int64_t xi = (i * s.cin + ci) * hw + sr * s.w + sc;
                  const int64_t wi = ((o * s.cin + ci) * s.k + ki) * s.k + kj;
                  const double xv = x[xi], wv = w[wi];
                  sum += wv * xv;
                  mag += std::fabs(wv * xv);
                  dx.val[xi] += wv * g;
                  dx.mag[xi] += std::fabs(wv * g);
                  dw.val[wi] += xv * g;
                  dw.mag[wi] += std::fabs(xv * g);
                }
              }
            }
            y.val[yi] = sum;
            y.mag[yi] = mag;
          }
        }
      }
    }
  }
  Ref y, dx, dw, db;
};

TEST(BlasConvTest, ConvSameMatchesReference) {
  const uint64_t seed = TestSeed() + 20;
  SCOPED_TRACE(SeedNote(seed));
  const ConvShape shapes[] = {
      {3, 2, 5, 7, 3, 3}, {2, 3, 4, 4, 5, 5}, {4, 3, 3, 5, 2, 1},   {1, 1, 1, 1, 2, 3},
      {5, 1, 6, 3, 4, 3}, {2, 4, 2, 9, 3, 7}, {3, 16, 7, 7, 24, 3},
  };
  int64_t t = 0;
  for (const ConvShape& s : shapes) {
    const int64_t hw = s.h * s.w, ckk = s.cin * s.k * s.k;
    const auto x = RandomVector(s.n * s.cin * hw, seed + 10 * t + 1);
    const auto w = RandomVector(s.cout * ckk, seed + 10 * t + 2);
    const auto b = RandomVector(s.cout, seed + 10 * t + 3);
    const auto dy = RandomVector(s.n * s.cout * hw, seed + 10 * t + 4);
    const auto dw0 = RandomVector(w.size(), seed + 10 * t + 5);
    const auto db0 = RandomVector(b.size(), seed + 10 * t + 6);
    const ConvRef ref(s, x, w, b, dy, dw0, db0);
    // Each thread's share of the batch in one chunk, one image per chunk,
    // and chunks of two (with a remainder when a share is odd); with 1, 2
    // and 3 threads (uneven shares, and idle threads when n < 3).
    const int64_t per_image = std::max(ckk, s.cout) * hw * 4;
    for (auto [chunk_bytes, threads] : {std::pair<int64_t, int>{int64_t{1} << 30, 2},
                                        {1, 2},
                                        {2 * per_image + 3, 2},
                                        {int64_t{1} << 30, 1},
                                        {1, 3},
                                        {2 * per_image + 3, 3}}) {
      const ScopedThreads thread_count(threads);
      auto backend = MakeBlasBackend(BlasBackendOptions{chunk_bytes});
      const std::string what = s.ToString() + " chunk_bytes=" + std::to_string(chunk_bytes) +
                               " threads=" + std::to_string(threads);
      std::vector<float> y(dy.size(), NAN), dx(x.size(), NAN);
      std::vector<float> dw = dw0, db = db0;
      backend->ConvSameForward(x.data(), w.data(), b.data(), y.data(), s.n, s.cin, s.h, s.w, s.cout,
                               s.k);
      backend->ConvSameBackward(x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), s.n,
                                s.cin, s.h, s.w, s.cout, s.k);
      ExpectClose(y, ref.y, 1e-5, 0.0, "conv y " + what);
      ExpectClose(dx, ref.dx, 1e-5, 0.0, "conv dx " + what);
      ExpectClose(dw, ref.dw, 1e-5, 0.0, "conv dw " + what);
      ExpectClose(db, ref.db, 1e-5, 0.0, "conv db " + what);
      // No dx (a first layer): the same parameter gradients.
      std::vector<float> dw2 = dw0, db2 = db0;
      backend->ConvSameBackward(x.data(), w.data(), dy.data(), nullptr, dw2.data(), db2.data(), s.n,
                                s.cin, s.h, s.w, s.cout, s.k);
      EXPECT_EQ(dw2, dw) << what;
      EXPECT_EQ(db2, db) << what;
    }
    ++t;
  }
}

// ---------------------------------------------------------------- max-pool

TEST(BlasConvTest, MaxPoolMatchesReference) {
  const uint64_t seed = TestSeed() + 21;
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeBlasBackend();
  Rng rng(seed);
  // Odd sizes (floor mode drops the last row/column); values from {0, 1, 2}
  // so that most windows have ties, which go to the first maximum.
  for (auto [n, c, h, w] : {std::array<int64_t, 4>{2, 3, 5, 7}, std::array<int64_t, 4>{1, 2, 4, 4},
                            std::array<int64_t, 4>{3, 1, 1, 6}}) {
    std::vector<float> x(n * c * h * w);
    for (float& v : x) v = static_cast<float>(rng.Below(3));
    const int64_t oh = h / 2, ow = w / 2;
    const auto dy = RandomVector(n * c * oh * ow, seed + h * 100 + w);
    std::vector<float> y(dy.size(), NAN), y_eval(dy.size(), NAN), dx(x.size(), NAN);
    std::vector<uint8_t> argmax(dy.size(), 255);
    backend->MaxPool2x2Forward(x.data(), y.data(), argmax.data(), n, c, h, w);
    backend->MaxPool2x2Forward(x.data(), y_eval.data(), nullptr, n, c, h, w);
    backend->MaxPool2x2Backward(argmax.data(), dy.data(), dx.data(), n, c, h, w);
    std::vector<float> want_y(y.size()), want_dx(x.size(), 0.0f);
    std::vector<uint8_t> want_argmax(y.size());
    for (int64_t plane = 0; plane < n * c; ++plane) {
      for (int64_t r = 0; r < oh; ++r) {
        for (int64_t q = 0; q < ow; ++q) {
          int64_t best = -1, best_k = -1;
          for (int64_t dr = 0; dr < 2; ++dr) {
            for (int64_t dq = 0; dq < 2; ++dq) {
              const int64_t i = (plane * h + 2 * r + dr) * w + 2 * q + dq;
              if (best < 0 || x[i] > x[best]) best = i, best_k = 2 * dr + dq;
            }
          }
          const int64_t o = (plane * oh + r) * ow + q;
          want_y[o] = x[best];
          want_argmax[o] = static_cast<uint8_t>(best_k);
          want_dx[best] = dy[o];
        }
      }
    }
    const std::string what = "n=" + std::to_string(n) + " c=" + std::to_string(c) +
                             " h=" + std::to_string(h) + " w=" + std::to_string(w);
    EXPECT_EQ(y, want_y) << what;
    EXPECT_EQ(y_eval, want_y) << what;
    EXPECT_EQ(argmax, want_argmax) << what;
    EXPECT_EQ(dx, want_dx) << what;
  }
  // A NaN in a window is the window's maximum (as in PyTorch).
  const float x[4] = {1.0f, NAN, 3.0f, 2.0f};
  float y = 0.0f;
  uint8_t argmax = 255;
  backend->MaxPool2x2Forward(x, &y, &argmax, 1, 1, 2, 2);
  EXPECT_TRUE(std::isnan(y));
  EXPECT_EQ(argmax, 1);
}

// ------------------------------------------------------------ determinism

// Runs every op on fixed data and returns all outputs, concatenated.
std::vector<float> RunAllOps(Backend& backend, uint64_t seed) {
  std::vector<float> all;
  auto append = [&all](const std::vector<float>& v) { all.insert(all.end(), v.begin(), v.end()); };
  // A conv big enough for sgemm to block and for several chunks.
  const int64_t n = 9, cin = 8, h = 14, w = 14, cout = 16, k = 3;
  const auto x = RandomVector(n * cin * h * w, seed + 1);
  const auto cw = RandomVector(cout * cin * k * k, seed + 2);
  const auto cb = RandomVector(cout, seed + 3);
  const auto dy = RandomVector(n * cout * h * w, seed + 4);
  std::vector<float> y(dy.size()), dx(x.size()), dw(cw.size()), db(cout);
  backend.ConvSameForward(x.data(), cw.data(), cb.data(), y.data(), n, cin, h, w, cout, k);
  backend.ConvSameBackward(x.data(), cw.data(), dy.data(), dx.data(), dw.data(), db.data(), n, cin,
                           h, w, cout, k);
  append(y), append(dx), append(dw), append(db);
  std::vector<float> py(n * cout * (h / 2) * (w / 2)), pdx(y.size());
  std::vector<uint8_t> argmax(py.size());
  backend.MaxPool2x2Forward(y.data(), py.data(), argmax.data(), n, cout, h, w);
  backend.MaxPool2x2Backward(argmax.data(), py.data(), pdx.data(), n, cout, h, w);
  append(py), append(pdx), append(std::vector<float>(argmax.begin(), argmax.end()));
  // Row ops on [rows, dim] = [n * cout * h, w].
  const int64_t rows = n * cout * h, dim = w;
  const auto gamma = RandomVector(dim, seed + 5);
  std::vector<float> ly(y.size()), mean(rows), rstd(rows), ldx(y.size());
  std::vector<float> dg(dim), dbeta(dim);
  backend.LayerNormForward(y.data(), gamma.data(), cb.data(), ly.data(), mean.data(), rstd.data(),
                           rows, dim, 1e-5f);
  backend.LayerNormBackward(y.data(), gamma.data(), mean.data(), rstd.data(), dy.data(), ldx.data(),
                            dg.data(), dbeta.data(), rows, dim);
  append(ly), append(mean), append(rstd), append(ldx), append(dg), append(dbeta);
  std::vector<float> e(y.size()), edx(y.size());
  backend.GeluForward(y.data(), e.data(), e.size());
  backend.GeluBackward(y.data(), dy.data(), edx.data(), e.size());
  append(e), append(edx);
  backend.ReluForward(y.data(), e.data(), e.size());
  backend.ReluBackward(y.data(), dy.data(), edx.data(), e.size());
  append(e), append(edx);
  backend.SoftmaxForward(y.data(), e.data(), rows, dim);
  backend.SoftmaxBackward(e.data(), dy.data(), edx.data(), rows, dim);
  append(e), append(edx);
  return all;
}

TEST(BlasConvTest, RerunsAreBitIdentical) {
  const uint64_t seed = TestSeed() + 22;
  SCOPED_TRACE(SeedNote(seed));
  // Small chunks: several per conv, so that the summation of dw over chunks
  // is covered too.
  const BlasBackendOptions options{64 << 10};
  auto backend = MakeBlasBackend(options);
  const auto first = RunAllOps(*backend, seed);
  // Again on the same backend (buffers already grown) and on a fresh one.
  EXPECT_TRUE(BitIdentical(first, RunAllOps(*backend, seed)));
  EXPECT_TRUE(BitIdentical(first, RunAllOps(*MakeBlasBackend(options), seed)));
  // Not vacuous: other data give other results.
  EXPECT_FALSE(BitIdentical(first, RunAllOps(*backend, seed + 1)));
}

TEST(BlasConvTest, NonGemmKernelsDoNotDependOnThreadCount) {
  // Every output of the OpenMP kernels is computed by one thread in a fixed
  // order, so even the thread count does not change them (sgemm may).
  const uint64_t seed = TestSeed() + 23;
  SCOPED_TRACE(SeedNote(seed));
  const int64_t n = 3 * 16 * 14 * 14;
  const auto x = RandomVector(n, seed, -3.0f, 3.0f);
  const auto dy = RandomVector(n, seed + 1);
  auto run = [&](int threads) {
    const ScopedThreads thread_count(threads);
    auto backend = MakeBlasBackend();
    std::vector<float> out;
    std::vector<float> a(n), b(n), mean(n / 14), rstd(n / 14);
    std::vector<float> g(14, 0.0f), gb(14, 0.0f);
    backend->LayerNormForward(x.data(), dy.data(), x.data(), a.data(), mean.data(), rstd.data(),
                              n / 14, 14, 1e-5f);
    backend->LayerNormBackward(x.data(), dy.data(), mean.data(), rstd.data(), dy.data(), b.data(),
                               g.data(), gb.data(), n / 14, 14);
    out.insert(out.end(), a.begin(), a.end());
    out.insert(out.end(), b.begin(), b.end());
    out.insert(out.end(), g.begin(), g.end());
    out.insert(out.end(), gb.begin(), gb.end());
    backend->GeluBackward(x.data(), dy.data(), a.data(), n);
    std::vector<float> pooled(3 * 16 * 7 * 7);
    std::vector<uint8_t> argmax(pooled.size());
    backend->MaxPool2x2Forward(x.data(), pooled.data(), argmax.data(), 3, 16, 14, 14);
    backend->MaxPool2x2Backward(argmax.data(), dy.data(), b.data(), 3, 16, 14, 14);
    out.insert(out.end(), a.begin(), a.end());
    out.insert(out.end(), b.begin(), b.end());
    out.insert(out.end(), pooled.begin(), pooled.end());
    out.insert(out.end(), argmax.begin(), argmax.end());
    return out;
  };
  const auto one = run(1), two = run(2), three = run(3);
  EXPECT_TRUE(BitIdentical(one, two));
  EXPECT_TRUE(BitIdentical(one, three));
}

TEST(BlasConvTest, FactoryKnowsBlas) {
  std::string error;
  auto backend = MakeBackend("blas", &error);
  ASSERT_NE(backend, nullptr) << error;
  EXPECT_EQ(backend->name(), "blas");
  EXPECT_EQ(MakeBackend("no-such-backend", &error), nullptr);
  EXPECT_NE(error.find("no-such-backend"), std::string::npos) << error;
}

}  // namespace
}  // namespace twophase
