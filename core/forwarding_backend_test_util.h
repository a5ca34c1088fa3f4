// Test backends that wrap a real one: ForwardingBackend passes every op to
// the backend it wraps, so that a wrapper overrides only the ops it changes
// (MutantBackend in core/mutant_backend_test_util.h, SerialGemmBackend
// below).
#ifndef TWOPHASE_CORE_FORWARDING_BACKEND_TEST_UTIL_H_
#define TWOPHASE_CORE_FORWARDING_BACKEND_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

#include "core/backend.h"
#include "core/threads.h"

namespace twophase {
namespace backend_test {

class ForwardingBackend : public Backend {
 public:
  explicit ForwardingBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}
  std::string_view name() const override { return inner_->name(); }

  void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
            int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) override {
    inner_->Gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void LinearForward(const float* x, const float* w, const float* b, float* y, int64_t rows,
                     int64_t in, int64_t out) override {
    inner_->LinearForward(x, w, b, y, rows, in, out);
  }
  void LinearForwardResidual(const float* x, const float* w, const float* b, const float* r,
                             float* y, int64_t rows, int64_t in, int64_t out) override {
    inner_->LinearForwardResidual(x, w, b, r, y, rows, in, out);
  }
  void LinearBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                      float* db, int64_t rows, int64_t in, int64_t out) override {
    inner_->LinearBackward(x, w, dy, dx, dw, db, rows, in, out);
  }
  void LayerNormForward(const float* x, const float* gamma, const float* beta, float* y,
                        float* mean, float* rstd, int64_t rows, int64_t dim, float eps) override {
    inner_->LayerNormForward(x, gamma, beta, y, mean, rstd, rows, dim, eps);
  }
  void LayerNormBackward(const float* x, const float* gamma, const float* mean, const float* rstd,
                         const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows,
                         int64_t dim) override {
    inner_->LayerNormBackward(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows, dim);
  }
  void GeluForward(const float* x, float* y, int64_t n) override { inner_->GeluForward(x, y, n); }
  void GeluBackward(const float* x, const float* dy, float* dx, int64_t n) override {
    inner_->GeluBackward(x, dy, dx, n);
  }
  void ReluForward(const float* x, float* y, int64_t n) override { inner_->ReluForward(x, y, n); }
  void ReluBackward(const float* x, const float* dy, float* dx, int64_t n) override {
    inner_->ReluBackward(x, dy, dx, n);
  }
  void SoftmaxForward(const float* x, float* y, int64_t rows, int64_t cols) override {
    inner_->SoftmaxForward(x, y, rows, cols);
  }
  void SoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows,
                       int64_t cols) override {
    inner_->SoftmaxBackward(y, dy, dx, rows, cols);
  }
  void ConvSameForward(const float* x, const float* w, const float* b, float* y, int64_t n,
                       int64_t cin, int64_t h, int64_t width, int64_t cout,
                       int64_t kernel) override {
    inner_->ConvSameForward(x, w, b, y, n, cin, h, width, cout, kernel);
  }
  void ConvSameBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                        float* db, int64_t n, int64_t cin, int64_t h, int64_t width, int64_t cout,
                        int64_t kernel) override {
    inner_->ConvSameBackward(x, w, dy, dx, dw, db, n, cin, h, width, cout, kernel);
  }
  void MaxPool2x2Forward(const float* x, float* y, uint8_t* argmax, int64_t n, int64_t c, int64_t h,
                         int64_t width) override {
    inner_->MaxPool2x2Forward(x, y, argmax, n, c, h, width);
  }
  void MaxPool2x2Backward(const uint8_t* argmax, const float* dy, float* dx, int64_t n, int64_t c,
                          int64_t h, int64_t width) override {
    inner_->MaxPool2x2Backward(argmax, dy, dx, n, c, h, width);
  }

 private:
  std::unique_ptr<Backend> inner_;
};

// Runs the matrix products (Gemm and the Linear ops, whose products are
// OpenBLAS's sgemm on the blas backend) on one thread, and every other op
// on the caller's thread count. OpenBLAS does not promise the same bits
// for every thread count: at the ViT's shapes its Prescott, Core2,
// Nehalem, Zen and Haswell kernels differ in the last bits between 1 and 3
// threads, SkylakeX's and Sandybridge's do not (OpenBLAS 0.3.21). Our own
// kernels do promise it, and this wrapper lets a test check exactly that.
class SerialGemmBackend final : public ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
            int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) override {
    const ScopedThreads one(1);
    ForwardingBackend::Gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void LinearForward(const float* x, const float* w, const float* b, float* y, int64_t rows,
                     int64_t in, int64_t out) override {
    const ScopedThreads one(1);
    ForwardingBackend::LinearForward(x, w, b, y, rows, in, out);
  }
  void LinearForwardResidual(const float* x, const float* w, const float* b, const float* r,
                             float* y, int64_t rows, int64_t in, int64_t out) override {
    const ScopedThreads one(1);
    ForwardingBackend::LinearForwardResidual(x, w, b, r, y, rows, in, out);
  }
  void LinearBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                      float* db, int64_t rows, int64_t in, int64_t out) override {
    const ScopedThreads one(1);
    ForwardingBackend::LinearBackward(x, w, dy, dx, dw, db, rows, in, out);
  }
};

}  // namespace backend_test
}  // namespace twophase

#endif  // TWOPHASE_CORE_FORWARDING_BACKEND_TEST_UTIL_H_
