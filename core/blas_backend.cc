// The OpenBLAS backend. Matrix products go to OpenBLAS's sgemm; the
// elementwise and reduction ops are OpenMP loops with a static schedule in
// which every output element is computed by one thread in a fixed order, so
// the results do not depend on the thread count beyond what sgemm does.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/backend.h"

namespace twophase {
namespace {

[[noreturn]] void NotImplemented(const char* op) {
  std::fprintf(stderr, "blas backend: %s not implemented yet\n", op);
  std::abort();
}

class BlasBackend final : public Backend {
 public:
  std::string_view name() const override { return "blas"; }

  void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
            float alpha, const float* a, int64_t lda, const float* b,
            int64_t ldb, float beta, float* c, int64_t ldc) override {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                static_cast<int>(n), static_cast<int>(k), alpha, a,
                static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
                static_cast<int>(ldc));
  }

  void LinearForward(const float* x, const float* w, const float* b, float* y,
                     int64_t rows, int64_t in, int64_t out) override {
    if (b != nullptr) {
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        std::memcpy(y + r * out, b, sizeof(float) * out);
      }
    }
    Gemm(false, true, rows, out, in, 1.0f, x, in, w, in, b ? 1.0f : 0.0f, y,
         out);
  }

  void LinearBackward(const float* x, const float* w, const float* dy,
                      float* dx, float* dw, float* db, int64_t rows,
                      int64_t in, int64_t out) override {
    if (dx != nullptr) Gemm(false, false, rows, in, out, 1.0f, dy, out, w, in,
                            0.0f, dx, in);
    if (dw != nullptr) Gemm(true, false, out, in, rows, 1.0f, dy, out, x, in,
                            1.0f, dw, in);
    if (db != nullptr) {
      // Each column summed by one thread, rows in order: deterministic.
#pragma omp parallel for schedule(static)
      for (int64_t o = 0; o < out; ++o) {
        double s = 0.0;
        for (int64_t r = 0; r < rows; ++r) s += dy[r * out + o];
        db[o] += static_cast<float>(s);
      }
    }
  }

  void LayerNormForward(const float*, const float*, const float*, float*,
                        float*, float*, int64_t, int64_t, float) override {
    NotImplemented("LayerNormForward");
  }
  void LayerNormBackward(const float*, const float*, const float*,
                         const float*, const float*, float*, float*, float*,
                         int64_t, int64_t) override {
    NotImplemented("LayerNormBackward");
  }
  void GeluForward(const float*, float*, int64_t) override {
    NotImplemented("GeluForward");
  }
  void GeluBackward(const float*, const float*, float*, int64_t) override {
    NotImplemented("GeluBackward");
  }
  void ReluForward(const float*, float*, int64_t) override {
    NotImplemented("ReluForward");
  }
  void ReluBackward(const float*, const float*, float*, int64_t) override {
    NotImplemented("ReluBackward");
  }
  void SoftmaxForward(const float* x, float* y, int64_t rows,
                      int64_t cols) override {
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
  void SoftmaxBackward(const float* y, const float* dy, float* dx,
                       int64_t rows, int64_t cols) override {
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
  void ConvSameForward(const float*, const float*, const float*, float*,
                       int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t) override {
    NotImplemented("ConvSameForward");
  }
  void ConvSameBackward(const float*, const float*, const float*, float*,
                        float*, float*, int64_t, int64_t, int64_t, int64_t,
                        int64_t, int64_t) override {
    NotImplemented("ConvSameBackward");
  }
  void MaxPool2x2Forward(const float*, float*, int64_t, int64_t, int64_t,
                         int64_t) override {
    NotImplemented("MaxPool2x2Forward");
  }
  void MaxPool2x2Backward(const float*, const float*, float*, int64_t,
                          int64_t, int64_t, int64_t) override {
    NotImplemented("MaxPool2x2Backward");
  }
};

}  // namespace

std::unique_ptr<Backend> MakeBlasBackend() {
  return std::make_unique<BlasBackend>();
}

std::unique_ptr<Backend> MakeBackend(std::string_view name,
                                     std::string* error) {
  if (name == "blas") return MakeBlasBackend();
  if (error != nullptr) {
    *error = "unknown backend '" + std::string(name) + "' (known: blas)";
  }
  return nullptr;
}

std::vector<std::string> BackendNames() { return {"blas"}; }

}  // namespace twophase
