// Every op of the BLAS backend against a naive double-precision reference
// written here, on random odd shapes; and bit-identical reruns.
//
// Each reference output comes with a magnitude (the sum of the absolute
// values of the terms that make it up, or a tensor-wide scale for the
// nonlinear ops), and the float result must be within rtol * magnitude: float
// rounding stays far below rtol = 1e-5 even for sums of ~1000 terms, while a
// wrong, missing or misplaced term is off by about magnitude / terms, i.e.
// > 1e-3 * magnitude. The data seed is TWOPHASE_TEST_SEED (default fixed).
#include "core/blas_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/backend_test_util.h"
#include "core/gradient_check.h"
#include "core/rng.h"

namespace twophase {
namespace {

using backend_test::ExpectClose;
using backend_test::Ref;

// ------------------------------------------------------------- GEMM, Linear

// C = alpha op(A) op(B) + beta C in double.
Ref RefGemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
            const std::vector<float>& a, int64_t lda, const std::vector<float>& b, int64_t ldb,
            double beta, const std::vector<float>& c, int64_t ldc) {
  Ref r(c.size());
  for (size_t i = 0; i < c.size(); ++i) r.val[i] = c[i];  // untouched padding
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0.0, mag = 0.0;
      for (int64_t p = 0; p < k; ++p) {
        const double av = ta ? a[p * lda + i] : a[i * lda + p];
        const double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
        s += av * bv;
        mag += std::fabs(av * bv);
      }
      const double c0 = c[i * ldc + j];
      r.val[i * ldc + j] = alpha * s + beta * c0;
      r.mag[i * ldc + j] = std::fabs(alpha) * mag + std::fabs(beta * c0);
    }
  }
  return r;
}

TEST(BlasBackendTest, GemmMatchesReference) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeBlasBackend();
  Rng rng(seed);
  for (int trial = 0; trial < 8; ++trial) {
    const bool ta = trial & 1, tb = trial & 2;
    const int64_t m = 1 + rng.Below(37), n = 1 + rng.Below(41), k = 1 + rng.Below(300);
    // Leading dimensions with padding, to catch a confused stride.
    const int64_t lda = (ta ? m : k) + rng.Below(3);
    const int64_t ldb = (tb ? k : n) + rng.Below(3);
    const int64_t ldc = n + rng.Below(3);
    const auto a = RandomVector((ta ? k : m) * lda, seed + 10 * trial + 1);
    const auto b = RandomVector((tb ? n : k) * ldb, seed + 10 * trial + 2);
    auto c = RandomVector(m * ldc, seed + 10 * trial + 3);
    const float alpha = trial < 4 ? 1.0f : 0.7f;
    const float beta = trial % 3 == 0 ? 0.0f : -1.3f;
    const Ref ref = RefGemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    backend->Gemm(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
    ExpectClose(c, ref, 1e-5, 0.0,
                "Gemm trial " + std::to_string(trial) + " m=" + std::to_string(m) +
                    " n=" + std::to_string(n) + " k=" + std::to_string(k));
  }
}

TEST(BlasBackendTest, LinearMatchesReference) {
  const uint64_t seed = TestSeed() + 1;
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeBlasBackend();
  const int64_t rows = 13, in = 29, out = 7;
  const auto x = RandomVector(rows * in, seed + 1);
  const auto w = RandomVector(out * in, seed + 2);
  const auto b = RandomVector(out, seed + 3);
  const auto dy = RandomVector(rows * out, seed + 4);
  for (bool bias : {true, false}) {
    std::vector<float> y(rows * out, 99.0f);
    backend->LinearForward(x.data(), w.data(), bias ? b.data() : nullptr, y.data(), rows, in, out);
    Ref ry(y.size());
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t o = 0; o < out; ++o) {
        double s = bias ? b[o] : 0.0, mag = std::fabs(s);
        for (int64_t i = 0; i < in; ++i) {
          s += static_cast<double>(x[r * in + i]) * w[o * in + i];
          mag += std::fabs(static_cast<double>(x[r * in + i]) * w[o * in + i]);
        }
        ry.val[r * out + o] = s;
        ry.mag[r * out + o] = mag;
      }
    }
    ExpectClose(y, ry, 1e-5, 0.0, bias ? "y with bias" : "y without bias");
  }
  // Backward: dx overwritten, dw and db accumulated onto what is there.
  std::vector<float> dx(rows * in, 99.0f);
  auto dw = RandomVector(out * in, seed + 5);
  auto db = RandomVector(out, seed + 6);
  Ref rdx(dx.size()), rdw(dw.size()), rdb(db.size());
  for (size_t i = 0; i < dw.size(); ++i) rdw.val[i] = dw[i], rdw.mag[i] = std::fabs(dw[i]);
  for (size_t i = 0; i < db.size(); ++i) rdb.val[i] = db[i], rdb.mag[i] = std::fabs(db[i]);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      const double g = dy[r * out + o];
      for (int64_t i = 0; i < in; ++i) {
        rdx.val[r * in + i] += g * w[o * in + i];
        rdx.mag[r * in + i] += std::fabs(g * w[o * in + i]);
        rdw.val[o * in + i] += g * x[r * in + i];
        rdw.mag[o * in + i] += std::fabs(g * x[r * in + i]);
      }
      rdb.val[o] += g;
      rdb.mag[o] += std::fabs(g);
    }
  }
  backend->LinearBackward(x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), rows, in,
                          out);
  ExpectClose(dx, rdx, 1e-5, 0.0, "linear dx");
  ExpectClose(dw, rdw, 1e-5, 0.0, "linear dw");
  ExpectClose(db, rdb, 1e-5, 0.0, "linear db");
}

// ------------------------------------------------------- elementwise, rows

TEST(BlasBackendTest, LayerNormMatchesReference) {
  const uint64_t seed = TestSeed() + 2;
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeBlasBackend();
  const float eps = 1e-5f;
  // dim 37 > the 16-column block of the parameter-gradient sums, not a
  // multiple of it; an offset mean tests the two-pass variance.
  for (int64_t dim : {1, 5, 37}) {
    const int64_t rows = 11;
    auto x = RandomVector(rows * dim, seed + dim, -1.0f, 1.0f);
    for (float& v : x) v += 3.0f;
    const auto gamma = RandomVector(dim, seed + 100 + dim, 0.5f, 1.5f);
    const auto beta = RandomVector(dim, seed + 200 + dim);
    const auto dy = RandomVector(rows * dim, seed + 300 + dim);
    std::vector<float> y(rows * dim), mean(rows), rstd(rows);
    std::vector<float> dx(rows * dim);
    auto dgamma = RandomVector(dim, seed + 400 + dim);
    auto dbeta = RandomVector(dim, seed + 500 + dim);
    Ref ry(y.size()), rmean(rows), rrstd(rows), rdx(dx.size());
    Ref rdg(dim), rdb(dim);
    for (int64_t c = 0; c < dim; ++c) {
      rdg.val[c] = dgamma[c];
      rdg.mag[c] = std::fabs(dgamma[c]);
      rdb.val[c] = dbeta[c];
      rdb.mag[c] = std::fabs(dbeta[c]);
    }
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = &x[r * dim];
      double mu = 0.0, var = 0.0;
      for (int64_t c = 0; c < dim; ++c) mu += xr[c];
      mu /= dim;
      for (int64_t c = 0; c < dim; ++c) var += (xr[c] - mu) * (xr[c] - mu);
      var /= dim;
      const double rs = 1.0 / std::sqrt(var + eps);
      rmean.val[r] = mu;
      rrstd.val[r] = rs;
      // dx = rstd (g - mean(g) - xhat mean(g xhat)), g = dy gamma.
      double mg = 0.0, mgx = 0.0;
      double mag_g = 0.0, mag_gx = 0.0;
      for (int64_t c = 0; c < dim; ++c) {
        const double xhat = (xr[c] - mu) * rs, g = dy[r * dim + c] * gamma[c];
        ry.val[r * dim + c] = xhat * gamma[c] + beta[c];
        mg += g / dim;
        mgx += g * xhat / dim;
        mag_g += std::fabs(g) / dim;
        mag_gx += std::fabs(g * xhat) / dim;
        rdg.val[c] += dy[r * dim + c] * xhat;
        rdg.mag[c] += std::fabs(dy[r * dim + c]) * (std::fabs(xr[c]) + std::fabs(mu)) * rs;
        rdb.val[c] += dy[r * dim + c];
        rdb.mag[c] += std::fabs(dy[r * dim + c]);
      }
      // Magnitudes: x - mean cancels, so xhat carries an error of about
      // eps (|x| + |mean|) rstd = eps * spread, which the magnitudes of y,
      // dx and dgamma include.
      for (int64_t c = 0; c < dim; ++c) {
        const double xhat = (xr[c] - mu) * rs, g = dy[r * dim + c] * gamma[c];
        const double spread = (std::fabs(xr[c]) + std::fabs(mu)) * rs;
        ry.mag[r * dim + c] = spread * std::fabs(gamma[c]) + std::fabs(beta[c]);
        rdx.val[r * dim + c] = rs * (g - mg - xhat * mgx);
        rdx.mag[r * dim + c] = rs * (std::fabs(g) + mag_g + spread * mag_gx);
      }
    }
    backend->LayerNormForward(x.data(), gamma.data(), beta.data(), y.data(), mean.data(),
                              rstd.data(), rows, dim, eps);
    backend->LayerNormBackward(x.data(), gamma.data(), mean.data(), rstd.data(), dy.data(),
                               dx.data(), dgamma.data(), dbeta.data(), rows, dim);
    const std::string d = " dim=" + std::to_string(dim);
    rmean.NormwiseMagnitude();
    rrstd.NormwiseMagnitude();
    ExpectClose(y, ry, 1e-5, 0.0, "layernorm y" + d);
    ExpectClose(mean, rmean, 1e-6, 0.0, "layernorm mean" + d);
    ExpectClose(rstd, rrstd, 1e-5, 0.0, "layernorm rstd" + d);
    ExpectClose(dx, rdx, 1e-5, 0.0, "layernorm dx" + d);
    ExpectClose(dgamma, rdg, 1e-5, 0.0, "layernorm dgamma" + d);
    ExpectClose(dbeta, rdb, 1e-5, 0.0, "layernorm dbeta" + d);
  }
}

TEST(BlasBackendTest, GeluMatchesReference) {
  const uint64_t seed = TestSeed() + 3;
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeBlasBackend();
  const int64_t n = 1001;
  const auto x = RandomVector(n, seed, -6.0f, 6.0f);
  const auto dy = RandomVector(n, seed + 1);
  std::vector<float> y(n), dx(n);
  backend->GeluForward(x.data(), y.data(), n);
  backend->GeluBackward(x.data(), dy.data(), dx.data(), n);
  Ref ry(n), rdx(n);
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i], cdf = 0.5 * (1.0 + std::erf(v / std::sqrt(2.0)));
    const double pdf = std::exp(-0.5 * v * v) / std::sqrt(2.0 * M_PI);
    // The kernel's erf is within 4e-7 of the true one (a few float ulps);
    // that error, times |x| / 2 in y and 1/2 in dy/dx, is part of the
    // magnitude (0.04 * 1e-5 = 4e-7). A wrong formula, e.g. the tanh
    // approximation of GELU, is off by up to ~1e-3.
    ry.val[i] = v * cdf;
    ry.mag[i] = std::fabs(v * cdf) + 0.04 * 0.5 * std::fabs(v);
    rdx.val[i] = dy[i] * (cdf + v * pdf);
    rdx.mag[i] = std::fabs(dy[i]) * (cdf + std::fabs(v * pdf) + 0.04 * 0.5);
  }
  ExpectClose(y, ry, 1e-5, 0.0, "gelu y");
  ExpectClose(dx, rdx, 1e-5, 0.0, "gelu dx");
}

TEST(BlasBackendTest, ReluMatchesReference) {
  const uint64_t seed = TestSeed() + 4;
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeBlasBackend();
  const int64_t n = 257;
  auto x = RandomVector(n, seed);
  x[0] = 0.0f;
  x[1] = -0.0f;
  x[2] = NAN;  // must not be hidden
  const auto dy = RandomVector(n, seed + 1);
  std::vector<float> y(n), dx(n);
  backend->ReluForward(x.data(), y.data(), n);
  backend->ReluBackward(x.data(), dy.data(), dx.data(), n);
  EXPECT_TRUE(std::isnan(y[2]));
  for (int64_t i = 0; i < n; ++i) {
    if (i == 2) continue;
    EXPECT_EQ(y[i], x[i] > 0.0f ? x[i] : 0.0f) << i;
    // Gradient 0 at x == 0 (PyTorch's convention).
    EXPECT_EQ(dx[i], x[i] > 0.0f ? dy[i] : 0.0f) << i;
  }
}

TEST(BlasBackendTest, SoftmaxMatchesReference) {
  const uint64_t seed = TestSeed() + 5;
  SCOPED_TRACE(SeedNote(seed));
  auto backend = MakeBlasBackend();
  for (int64_t cols : {1, 10, 65}) {
    const int64_t rows = 9;
    auto x = RandomVector(rows * cols, seed + cols, -5.0f, 5.0f);
    x[0] += 80.0f;  // would overflow exp() without the max subtraction
    const auto dy = RandomVector(rows * cols, seed + 100 + cols);
    std::vector<float> y(rows * cols), dx(rows * cols);
    backend->SoftmaxForward(x.data(), y.data(), rows, cols);
    backend->SoftmaxBackward(y.data(), dy.data(), dx.data(), rows, cols);
    Ref ry(y.size()), rdx(dx.size());
    for (int64_t r = 0; r < rows; ++r) {
      double mx = -INFINITY, sum = 0.0, dot = 0.0;
      for (int64_t c = 0; c < cols; ++c) mx = std::max<double>(mx, x[r * cols + c]);
      for (int64_t c = 0; c < cols; ++c) sum += std::exp(x[r * cols + c] - mx);
      for (int64_t c = 0; c < cols; ++c) {
        ry.val[r * cols + c] = std::exp(x[r * cols + c] - mx) / sum;
        dot += ry.val[r * cols + c] * dy[r * cols + c];
      }
      for (int64_t c = 0; c < cols; ++c) {
        rdx.val[r * cols + c] = ry.val[r * cols + c] * (dy[r * cols + c] - dot);
      }
    }
    ry.NormwiseMagnitude();
    rdx.NormwiseMagnitude();
    ExpectClose(y, ry, 1e-5, 0.0, "softmax y cols=" + std::to_string(cols));
    ExpectClose(dx, rdx, 1e-5, 1e-7, "softmax dx cols=" + std::to_string(cols));
  }
}

}  // namespace
}  // namespace twophase
