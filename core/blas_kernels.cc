#include "core/blas_kernels.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "kernels/fast_math.h"
#include "kernels/kernels.h"

namespace twophase {
namespace blas_kernels {

void LayerNormForward(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                      float* rstd, int64_t rows, int64_t dim, float eps) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    // Two passes in double: the one-pass E[x^2] - E[x]^2 loses everything
    // when |mean| >> std.
    const double s = kernels::Sum8(dim, [xr](int64_t c) { return double{xr[c]}; });
    const double mu = s / static_cast<double>(dim);
    const double v = kernels::Sum8(dim, [xr, mu](int64_t c) {
      const double d = xr[c] - mu;
      return d * d;
    });
    // Biased variance, as torch.nn.LayerNorm.
    const double var = v / static_cast<double>(dim);
    const float m = static_cast<float>(mu);
    const float rs = static_cast<float>(1.0 / std::sqrt(var + eps));
    mean[r] = m;
    rstd[r] = rs;
    // The backward pass recomputes xhat from the same float m and rs.
    for (int64_t c = 0; c < dim; ++c) {
      yr[c] = (xr[c] - m) * rs * gamma[c] + beta[c];
    }
  }
}

void LayerNormBackward(const float* x, const float* gamma, const float* mean, const float* rstd,
                       const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows,
                       int64_t dim) {
  // With xhat = (x - mean) * rstd and g = dy * gamma, y = xhat*gamma + beta
  // gives (mean and rstd depend on the whole row)
  //   dx = rstd * (g - mean_c(g) - xhat * mean_c(g * xhat)).
  if (dx != nullptr) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * dim;
      const float* dyr = dy + r * dim;
      float* dxr = dx + r * dim;
      const float m = mean[r], rs = rstd[r];
      const double sg =
          kernels::Sum8(dim, [dyr, gamma](int64_t c) { return double{dyr[c] * gamma[c]}; });
      const double sgx = kernels::Sum8(
          dim, [=](int64_t c) { return double{dyr[c] * gamma[c]} * ((xr[c] - m) * rs); });
      const float a = static_cast<float>(sg / static_cast<double>(dim));
      const float b = static_cast<float>(sgx / static_cast<double>(dim));
      for (int64_t c = 0; c < dim; ++c) {
        const float xhat = (xr[c] - m) * rs;
        dxr[c] = rs * (dyr[c] * gamma[c] - a - xhat * b);
      }
    }
  }
  // dgamma += sum_r dy * xhat, dbeta += sum_r dy: column sums. Each block of
  // kBlock columns is summed by one thread over the rows in order, reading
  // whole cache lines of every row.
  constexpr int64_t kBlock = 16;
  const int64_t blocks = (dim + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t c0 = blk * kBlock;
    const int64_t width = std::min(kBlock, dim - c0);
    double sg[kBlock] = {}, sb[kBlock] = {};
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * dim + c0;
      const float* dyr = dy + r * dim + c0;
      const float m = mean[r], rs = rstd[r];
      for (int64_t j = 0; j < width; ++j) {
        sg[j] += static_cast<double>(dyr[j]) * ((xr[j] - m) * rs);
        sb[j] += dyr[j];
      }
    }
    for (int64_t j = 0; j < width; ++j) {
      if (dgamma != nullptr) dgamma[c0 + j] += static_cast<float>(sg[j]);
      if (dbeta != nullptr) dbeta[c0 + j] += static_cast<float>(sb[j]);
    }
  }
}

namespace {
constexpr float kSqrtHalf = 0.70710678118654752f;    // 1 / sqrt(2)
constexpr float kInvSqrt2Pi = 0.39894228040143268f;  // 1 / sqrt(2 pi)

// erf(x) for float, as a rational function: the odd/even minimax fit of
// Eigen's generic_fast_erf_float (also TensorFlow's and XLA's), on
// [-4, 4], where erf reaches +-1 to float precision; clamped to [-1, 1] so
// that 1 + erf(x) >= 0. Max absolute error 4e-7, i.e. a few float ulps of
// 1 (measured against double erf; std::erf's is ~1e-7). Unlike a call to
// std::erf, the loops that use it vectorise: GELU runs over
// [n, tokens, 256] activations, where the libm call took 15x more time.
inline float Erf(float a) {
  const float x = std::min(std::max(a, -4.0f), 4.0f);
  const float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 - 2.10102402082508e-06f;
  p = p * x2 - 5.69250639462346e-05f;
  p = p * x2 - 7.34990630326855e-04f;
  p = p * x2 - 2.95459980854025e-03f;
  p = p * x2 - 1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * x2 - 2.13374055278905e-04f;
  q = q * x2 - 1.68282697438203e-03f;
  q = q * x2 - 7.37332916720468e-03f;
  q = q * x2 - 1.42647390514189e-02f;
  return std::min(std::max(x * p / q, -1.0f), 1.0f);
}

}  // namespace

void GeluForward(const float* x, float* y, int64_t n) {
  // y = x * Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    y[i] = 0.5f * x[i] * (1.0f + Erf(x[i] * kSqrtHalf));
  }
}

void GeluBackward(const float* x, const float* dy, float* dx, int64_t n) {
  // d/dx [x Phi(x)] = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi).
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float cdf = 0.5f * (1.0f + Erf(v * kSqrtHalf));
    const float pdf = kInvSqrt2Pi * kernels::ExpNonPositive(-0.5f * v * v);
    dx[i] = dy[i] * (cdf + v * pdf);
  }
}

void ReluForward(const float* x, float* y, int64_t n) {
  // Written so that a NaN passes through (as torch.relu) instead of being
  // hidden as 0 from the loss.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void ReluBackward(const float* x, const float* dy, float* dx, int64_t n) {
  // Gradient 0 at x == 0, as PyTorch's threshold_backward.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] <= 0.0f ? 0.0f : dy[i];
}

namespace {
// Which element of the 2x2 window {a, b; c, d} is its maximum, by PyTorch's
// max_pool2d rule applied in row-major order: `if (val > max ||
// isnan(val))` -- the first maximum wins ties and a NaN wins. As flags
// (b, c or d replaced the running maximum), so that the loops over a row
// vectorise with masks instead of branching.
struct WindowMax {
  float value;
  bool took_b, took_c, took_d;
};
inline WindowMax MaxOf2x2(float a, float b, float c, float d) {
  WindowMax m;
  m.value = a;
  m.took_b = b > m.value || b != b;
  m.value = m.took_b ? b : m.value;
  m.took_c = c > m.value || c != c;
  m.value = m.took_c ? c : m.value;
  m.took_d = d > m.value || d != d;
  m.value = m.took_d ? d : m.value;
  return m;
}

// The pooling loops below work on blocks of up to kPoolBlock consecutive
// windows of a plane (several output rows: vgg5's rows are only 14, 7 and
// 3 windows wide, too short for vector loops): a scalar loop gathers the
// four elements of each window into small arrays (or scatters them back),
// and the arithmetic runs as simple loops over the arrays, which vectorise.
constexpr int64_t kPoolBlock = 256;

// Calls f(i, r0, r1) for the windows [begin, begin + count) of a plane, in
// row-major order: i counts from 0, r0 and r1 point at the window's top-left
// element and the one below it.
template <typename F>
inline void ForWindows(int64_t begin, int64_t count, int64_t ow, int64_t width, F&& f) {
  int64_t oy = begin / ow, ox = begin % ow;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t offset = 2 * oy * width + 2 * ox;
    f(i, offset, offset + width);
    if (++ox == ow) ox = 0, ++oy;
  }
}
}  // namespace

void MaxPool2x2Forward(const float* x, float* y, uint8_t* argmax, int64_t n, int64_t c, int64_t h,
                       int64_t width) {
  const int64_t oh = h / 2, ow = width / 2, windows = oh * ow;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < n * c; ++plane) {
    const float* xp = x + plane * h * width;
    float a[kPoolBlock], b[kPoolBlock], cc[kPoolBlock], d[kPoolBlock];
    int32_t winner[kPoolBlock];
    for (int64_t w0 = 0; w0 < windows; w0 += kPoolBlock) {
      const int64_t len = std::min(kPoolBlock, windows - w0);
      ForWindows(w0, len, ow, width, [&](int64_t i, int64_t top, int64_t bottom) {
        a[i] = xp[top];
        b[i] = xp[top + 1];
        cc[i] = xp[bottom];
        d[i] = xp[bottom + 1];
      });
      float* yb = y + plane * windows + w0;
      for (int64_t i = 0; i < len; ++i) {
        const WindowMax m = MaxOf2x2(a[i], b[i], cc[i], d[i]);
        yb[i] = m.value;
        // The last element that replaced the running maximum won.
        winner[i] = m.took_d ? 3 : m.took_c ? 2 : m.took_b ? 1 : 0;
      }
      if (argmax != nullptr) {
        uint8_t* ab = argmax + plane * windows + w0;
        for (int64_t i = 0; i < len; ++i) ab[i] = static_cast<uint8_t>(winner[i]);
      }
    }
  }
}

void MaxPool2x2Backward(const uint8_t* argmax, const float* dy, float* dx, int64_t n, int64_t c,
                        int64_t h, int64_t width) {
  const int64_t oh = h / 2, ow = width / 2, windows = oh * ow;
  // Windows do not overlap, so every dx element is written once: dy at its
  // window's maximum, else 0.
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < n * c; ++plane) {
    float* dxp = dx + plane * h * width;
    float t0[kPoolBlock], t1[kPoolBlock], t2[kPoolBlock], t3[kPoolBlock];
    int32_t winner[kPoolBlock];
    for (int64_t w0 = 0; w0 < windows; w0 += kPoolBlock) {
      const int64_t len = std::min(kPoolBlock, windows - w0);
      const uint8_t* ab = argmax + plane * windows + w0;
      const float* g = dy + plane * windows + w0;
      for (int64_t i = 0; i < len; ++i) winner[i] = ab[i];
      for (int64_t i = 0; i < len; ++i) {
        const int32_t k = winner[i];
        t0[i] = k == 0 ? g[i] : 0.0f;
        t1[i] = k == 1 ? g[i] : 0.0f;
        t2[i] = k == 2 ? g[i] : 0.0f;
        t3[i] = k == 3 ? g[i] : 0.0f;
      }
      ForWindows(w0, len, ow, width, [&](int64_t i, int64_t top, int64_t bottom) {
        dxp[top] = t0[i];
        dxp[top + 1] = t1[i];
        dxp[bottom] = t2[i];
        dxp[bottom + 1] = t3[i];
      });
    }
    // An odd width leaves a last column, an odd height a last row, that no
    // window covers.
    if (width % 2 != 0) {
      for (int64_t r = 0; r < 2 * oh; ++r) dxp[r * width + width - 1] = 0.0f;
    }
    if (h % 2 != 0) std::memset(dxp + (h - 1) * width, 0, sizeof(float) * width);
  }
}

namespace {
// The part of a plane that a kernel offset (sy0, sx0) maps inside the
// image: output rows [y0, y1) and columns [x0, x1) read input pixel
// (y + sy0, x + sx0).
struct Window {
  int64_t y0, y1, x0, x1;
  bool empty() const { return y0 >= y1 || x0 >= x1; }
};
inline Window ValidWindow(int64_t h, int64_t width, int64_t sy0, int64_t sx0) {
  return {std::max<int64_t>(0, -sy0), std::min<int64_t>(h, h - sy0), std::max<int64_t>(0, -sx0),
          std::min<int64_t>(width, width - sx0)};
}
}  // namespace

void Im2Col(const float* x, int64_t m, int64_t cin, int64_t h, int64_t width, int64_t kernel,
            float* col) {
  const int64_t hw = h * width, kk = kernel * kernel, pad = kernel / 2;
  const int64_t ld = m * hw;
  // One (image, channel) plane at a time: it stays in L1 while its k*k
  // shifted copies are written to k*k rows of col. A shifted copy is one
  // flat copy of the plane, from the first to the last valid pixel (pixels
  // of neighbouring rows wrap into the border columns), followed by zeroing
  // the border: few long copies instead of many of one image row each.
  for (int64_t ic = 0; ic < m * cin; ++ic) {
    const int64_t i = ic / cin, c = ic % cin;
    const float* plane = x + ic * hw;
    for (int64_t ki = 0; ki < kernel; ++ki) {
      for (int64_t kj = 0; kj < kernel; ++kj) {
        float* dst = col + (c * kk + ki * kernel + kj) * ld + i * hw;
        const int64_t sy0 = ki - pad, sx0 = kj - pad;  // source offset
        const Window v = ValidWindow(h, width, sy0, sx0);
        if (v.empty()) {
          std::memset(dst, 0, sizeof(float) * hw);
          continue;
        }
        const int64_t begin = v.y0 * width + v.x0, end = (v.y1 - 1) * width + v.x1;
        std::memset(dst, 0, sizeof(float) * begin);
        std::memcpy(dst + begin, plane + begin + sy0 * width + sx0, sizeof(float) * (end - begin));
        std::memset(dst + end, 0, sizeof(float) * (hw - end));
        for (int64_t yy = v.y0; yy < v.y1; ++yy) {
          float* d = dst + yy * width;
          for (int64_t xx = 0; xx < v.x0; ++xx) d[xx] = 0.0f;
          for (int64_t xx = v.x1; xx < width; ++xx) d[xx] = 0.0f;
        }
      }
    }
  }
}

void Col2Im(float* col, int64_t m, int64_t cin, int64_t h, int64_t width, int64_t kernel,
            float* dx) {
  const int64_t hw = h * width, kk = kernel * kernel, pad = kernel / 2;
  const int64_t ld = m * hw;
  // Each dx plane is summed in (ki, kj) order. As in Im2Col, one flat loop
  // per kernel offset: the col entries that Im2Col would have taken from the
  // zero padding are set to 0 first, so that adding them where the flat
  // range wraps around a row changes nothing.
  for (int64_t ic = 0; ic < m * cin; ++ic) {
    const int64_t i = ic / cin, c = ic % cin;
    float* plane = dx + ic * hw;
    std::memset(plane, 0, sizeof(float) * hw);
    for (int64_t ki = 0; ki < kernel; ++ki) {
      for (int64_t kj = 0; kj < kernel; ++kj) {
        float* src = col + (c * kk + ki * kernel + kj) * ld + i * hw;
        const int64_t sy0 = ki - pad, sx0 = kj - pad;
        const Window v = ValidWindow(h, width, sy0, sx0);
        if (v.empty()) continue;
        for (int64_t yy = v.y0; yy < v.y1; ++yy) {
          float* s = src + yy * width;
          for (int64_t xx = 0; xx < v.x0; ++xx) s[xx] = 0.0f;
          for (int64_t xx = v.x1; xx < width; ++xx) s[xx] = 0.0f;
        }
        // Im2Col copied plane[j + offset] to src[j] (begin + offset >= 0).
        const int64_t begin = v.y0 * width + v.x0, end = (v.y1 - 1) * width + v.x1;
        const int64_t offset = sy0 * width + sx0;
        for (int64_t j = begin; j < end; ++j) plane[j + offset] += src[j];
      }
    }
  }
}

}  // namespace blas_kernels
}  // namespace twophase
