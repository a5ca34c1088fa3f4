// The OpenBLAS backend. Matrix products go to OpenBLAS's sgemm; the
// elementwise and reduction ops are OpenMP loops with a static schedule in
// which every output element is computed by one thread in a fixed order, so
// the results are bit-identical for a given thread count (and for the
// non-GEMM ops, for any thread count).
// Convolutions are im2col + sgemm over chunks of the batch, one share of
// the batch per thread (see ConvSameForward); the elementwise kernels live
// in blas_kernels.cc, the ones shared with the oneDNN backend in
// kernels/kernels.h.
#include "core/blas_backend.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/backend.h"
#include "core/blas_kernels.h"
#include "kernels/kernels.h"

namespace twophase {
namespace {

class BlasBackend final : public Backend {
 public:
  explicit BlasBackend(const BlasBackendOptions& options) : options_(options) {}
  std::string_view name() const override { return "blas"; }

  void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
            const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
            int64_t ldc) override {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb),
                beta, c, static_cast<int>(ldc));
  }

  void LinearForward(const float* x, const float* w, const float* b, float* y, int64_t rows,
                     int64_t in, int64_t out) override {
    if (b != nullptr) {
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        std::memcpy(y + r * out, b, sizeof(float) * out);
      }
    }
    Gemm(false, true, rows, out, in, 1.0f, x, in, w, in, b ? 1.0f : 0.0f, y, out);
  }

  void LinearForwardResidual(const float* x, const float* w, const float* b, const float* r,
                             float* y, int64_t rows, int64_t in, int64_t out) override {
    LinearForward(x, w, b, y, rows, in, out);
    kernels::AddTo(y, r, rows * out);  // y + r: the same sum as r + y
  }

  void LinearBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                      float* db, int64_t rows, int64_t in, int64_t out) override {
    if (dx != nullptr) Gemm(false, false, rows, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
    if (dw != nullptr) Gemm(true, false, out, in, rows, 1.0f, dy, out, x, in, 1.0f, dw, in);
    if (db != nullptr) kernels::AddColumnSums(dy, db, rows, out);
  }

  void LayerNormForward(const float* x, const float* gamma, const float* beta, float* y,
                        float* mean, float* rstd, int64_t rows, int64_t dim, float eps) override {
    blas_kernels::LayerNormForward(x, gamma, beta, y, mean, rstd, rows, dim, eps);
  }
  void LayerNormBackward(const float* x, const float* gamma, const float* mean, const float* rstd,
                         const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows,
                         int64_t dim) override {
    blas_kernels::LayerNormBackward(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows, dim);
  }
  void GeluForward(const float* x, float* y, int64_t n) override {
    blas_kernels::GeluForward(x, y, n);
  }
  void GeluBackward(const float* x, const float* dy, float* dx, int64_t n) override {
    blas_kernels::GeluBackward(x, dy, dx, n);
  }
  void ReluForward(const float* x, float* y, int64_t n) override {
    blas_kernels::ReluForward(x, y, n);
  }
  void ReluBackward(const float* x, const float* dy, float* dx, int64_t n) override {
    blas_kernels::ReluBackward(x, dy, dx, n);
  }
  void SoftmaxForward(const float* x, float* y, int64_t rows, int64_t cols) override {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      float mx = xr[0];
      for (int64_t c = 1; c < cols; ++c) mx = std::max(mx, xr[c]);
      double sum = 0.0;
      for (int64_t c = 0; c < cols; ++c) {
        yr[c] = std::exp(xr[c] - mx);
        sum += yr[c];
      }
      const float inv = static_cast<float>(1.0 / sum);
      for (int64_t c = 0; c < cols; ++c) yr[c] *= inv;
    }
  }
  void SoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows,
                       int64_t cols) override {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float* yr = y + r * cols;
      const float* dyr = dy + r * cols;
      float* dxr = dx + r * cols;
      double dot = 0.0;
      for (int64_t c = 0; c < cols; ++c) dot += static_cast<double>(yr[c]) * dyr[c];
      const float d = static_cast<float>(dot);
      for (int64_t c = 0; c < cols; ++c) dxr[c] = yr[c] * (dyr[c] - d);
    }
  }

  // Convolution as GEMM (see Im2Col). The batch is split into one
  // contiguous range of images per OpenMP thread, and each thread works
  // through its range in chunks of m images with its own buffers and a
  // single-threaded sgemm:
  //   out[cout, m*hw] = W[cout, cin*k*k] * col[cin*k*k, m*hw],
  // then scatters out to y's NCHW layout, adding the bias. No thread ever
  // waits for another, and OpenBLAS's own threads (which fight OpenMP's
  // spinning threads for the cores) are not used at all.
  void ConvSameForward(const float* x, const float* w, const float* b, float* y, int64_t n,
                       int64_t cin, int64_t h, int64_t width, int64_t cout,
                       int64_t kernel) override {
    const int64_t hw = h * width, ckk = cin * kernel * kernel;
    const int64_t chunk = ChunkImages(n, std::max(ckk, cout) * hw);
    const int threads = omp_get_max_threads();
    PrepareScratch(threads, ckk * chunk * hw, cout * chunk * hw, 0, 0);
    const SingleThreadedBlas single_threaded_blas;
#pragma omp parallel num_threads(threads)
    {
      ConvScratch& s = scratch_[omp_get_thread_num()];
      const ImageRange range = ThreadImages(n);
      for (int64_t i0 = range.begin; i0 < range.end; i0 += chunk) {
        const int64_t m = std::min(chunk, range.end - i0), ld = m * hw;
        blas_kernels::Im2Col(x + i0 * cin * hw, m, cin, h, width, kernel, s.col.data());
        Gemm(false, false, cout, ld, ckk, 1.0f, w, ckk, s.col.data(), ld, 0.0f, s.out.data(), ld);
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t o = 0; o < cout; ++o) {
            const float bias = b != nullptr ? b[o] : 0.0f;
            const float* src = s.out.data() + o * ld + i * hw;
            float* dst = y + ((i0 + i) * cout + o) * hw;
            for (int64_t p = 0; p < hw; ++p) dst[p] = src[p] + bias;
          }
        }
      }
    }
  }

  // Per thread and chunk, with g[cout, m*hw] the chunk's dy in GEMM layout:
  //   dW_thread += g * col^T,   dcol = W^T * g -> dx by Col2Im,
  // db_thread += row sums of g (double). The per-thread partial sums are
  // then added to dw and db in thread order: bit-identical results for a
  // given thread count.
  void ConvSameBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                        float* db, int64_t n, int64_t cin, int64_t h, int64_t width, int64_t cout,
                        int64_t kernel) override {
    const int64_t hw = h * width, ckk = cin * kernel * kernel;
    const int64_t chunk = ChunkImages(n, std::max(ckk, cout) * hw);
    const int threads = omp_get_max_threads();
    PrepareScratch(threads, ckk * chunk * hw, cout * chunk * hw, cout * ckk, cout);
    int team = threads;  // the threads actually started, for the sums
    {
      const SingleThreadedBlas single_threaded_blas;
#pragma omp parallel num_threads(threads)
      {
        if (omp_get_thread_num() == 0) team = omp_get_num_threads();
        ConvScratch& s = scratch_[omp_get_thread_num()];
        std::fill(s.dw.begin(), s.dw.begin() + cout * ckk, 0.0f);
        std::fill(s.db.begin(), s.db.begin() + cout, 0.0);
        const ImageRange range = ThreadImages(n);
        for (int64_t i0 = range.begin; i0 < range.end; i0 += chunk) {
          const int64_t m = std::min(chunk, range.end - i0), ld = m * hw;
          float* g = s.out.data();
          for (int64_t o = 0; o < cout; ++o) {
            double sum = 0.0;
            for (int64_t i = 0; i < m; ++i) {
              const float* src = dy + ((i0 + i) * cout + o) * hw;
              std::memcpy(g + o * ld + i * hw, src, sizeof(float) * hw);
              sum += kernels::Sum8(hw, [src](int64_t p) { return double{src[p]}; });
            }
            s.db[o] += sum;
          }
          if (dw != nullptr) {
            blas_kernels::Im2Col(x + i0 * cin * hw, m, cin, h, width, kernel, s.col.data());
            Gemm(false, true, cout, ckk, ld, 1.0f, g, ld, s.col.data(), ld, 1.0f, s.dw.data(), ckk);
          }
          if (dx != nullptr) {
            // col is free again: it takes dcol.
            Gemm(true, false, ckk, ld, cout, 1.0f, w, ckk, g, ld, 0.0f, s.col.data(), ld);
            blas_kernels::Col2Im(s.col.data(), m, cin, h, width, kernel, dx + i0 * cin * hw);
          }
        }
      }
    }
    if (dw != nullptr) {
#pragma omp parallel for schedule(static) num_threads(threads)
      for (int64_t e = 0; e < cout * ckk; ++e) {
        float sum = scratch_[0].dw[e];
        for (int t = 1; t < team; ++t) sum += scratch_[t].dw[e];
        dw[e] += sum;
      }
    }
    if (db != nullptr) {
      for (int64_t o = 0; o < cout; ++o) {
        double sum = 0.0;
        for (int t = 0; t < team; ++t) sum += scratch_[t].db[o];
        db[o] += static_cast<float>(sum);
      }
    }
  }

  void MaxPool2x2Forward(const float* x, float* y, uint8_t* argmax, int64_t n, int64_t c, int64_t h,
                         int64_t width) override {
    blas_kernels::MaxPool2x2Forward(x, y, argmax, n, c, h, width);
  }
  void MaxPool2x2Backward(const uint8_t* argmax, const float* dy, float* dx, int64_t n, int64_t c,
                          int64_t h, int64_t width) override {
    blas_kernels::MaxPool2x2Backward(argmax, dy, dx, n, c, h, width);
  }

 private:
  // One thread's convolution buffers. They only grow, so steady-state
  // training allocates nothing.
  struct ConvScratch {
    std::vector<float> col;  // unfolded chunk [cin*k*k, m*hw]; dcol
    std::vector<float> out;  // [cout, m*hw]: GEMM output / gathered dy
    std::vector<float> dw;   // partial weight gradient
    std::vector<double> db;  // partial bias gradient
  };
  struct ImageRange {
    int64_t begin, end;
  };

  // While alive, OpenBLAS runs single-threaded (each of our threads calls
  // it on its own data); restores the previous count. (With an OpenMP
  // build of OpenBLAS this also sets OpenMP's default, hence the explicit
  // num_threads on the parallel regions.)
  class SingleThreadedBlas {
   public:
    SingleThreadedBlas() : saved_(openblas_get_num_threads()) { openblas_set_num_threads(1); }
    ~SingleThreadedBlas() { openblas_set_num_threads(saved_); }
    SingleThreadedBlas(const SingleThreadedBlas&) = delete;
    SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

   private:
    int saved_;
  };

  // This thread's contiguous share of n images (static partition).
  static ImageRange ThreadImages(int64_t n) {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    return {n * t / nt, n * (t + 1) / nt};
  }

  // Images per chunk when one image needs floats_per_image floats in the
  // largest chunk buffer.
  int64_t ChunkImages(int64_t n, int64_t floats_per_image) const {
    const int64_t per_image = floats_per_image * int64_t{sizeof(float)};
    const int64_t fit = options_.max_chunk_bytes / std::max<int64_t>(1, per_image);
    return std::max<int64_t>(1, std::min(n, fit));
  }

  void PrepareScratch(int threads, int64_t col, int64_t out, int64_t dw, int64_t db) {
    if (static_cast<int>(scratch_.size()) < threads) scratch_.resize(threads);
    for (int t = 0; t < threads; ++t) {
      Grow(scratch_[t].col, col);
      Grow(scratch_[t].out, out);
      Grow(scratch_[t].dw, dw);
      Grow(scratch_[t].db, db);
    }
  }
  template <typename T>
  static void Grow(std::vector<T>& v, int64_t size) {
    if (static_cast<int64_t>(v.size()) < size) v.resize(size);
  }

  BlasBackendOptions options_;
  std::vector<ConvScratch> scratch_;  // one per OpenMP thread
};

}  // namespace

std::unique_ptr<Backend> MakeBlasBackend(const BlasBackendOptions& options) {
  return std::make_unique<BlasBackend>(options);
}

std::unique_ptr<Backend> MakeBlasBackend() { return MakeBlasBackend(BlasBackendOptions()); }

}  // namespace twophase
