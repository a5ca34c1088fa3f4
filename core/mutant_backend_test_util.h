// A backend with one deliberate bug, for showing that the cross-backend
// tests fail when they should (backend_consistency_test.cc,
// backend_model_test.cc): it forwards every op to a real backend and then
// breaks one of them in a way a real implementation could.
#ifndef TWOPHASE_CORE_MUTANT_BACKEND_TEST_UTIL_H_
#define TWOPHASE_CORE_MUTANT_BACKEND_TEST_UTIL_H_

#include <cmath>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "core/backend.h"

namespace twophase {
namespace backend_test {

enum class Mutation {
  kNoLinearBiasGrad,            // LinearBackward leaves db alone
  kConvWeightGradOverwrites,    // ConvSameBackward: dw = grad instead of +=
  kReluGradOneAtZero,           // ReluBackward passes dy through at x == 0
  kLayerNormGammaGradTooLarge,  // dgamma's increment 5 % too large
  kConvRerunsDiffer,            // the 2nd ConvSameForward call an ulp off (a race)
};

class MutantBackend final : public Backend {
 public:
  MutantBackend(std::unique_ptr<Backend> inner, Mutation mutation)
      : inner_(std::move(inner)), mutation_(mutation) {}
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
    if (mutation_ == Mutation::kNoLinearBiasGrad) db = nullptr;
    inner_->LinearBackward(x, w, dy, dx, dw, db, rows, in, out);
  }
  void LayerNormForward(const float* x, const float* gamma, const float* beta, float* y,
                        float* mean, float* rstd, int64_t rows, int64_t dim, float eps) override {
    inner_->LayerNormForward(x, gamma, beta, y, mean, rstd, rows, dim, eps);
  }
  void LayerNormBackward(const float* x, const float* gamma, const float* mean, const float* rstd,
                         const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows,
                         int64_t dim) override {
    std::vector<float> before;
    if (dgamma != nullptr) before.assign(dgamma, dgamma + dim);
    inner_->LayerNormBackward(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows, dim);
    if (mutation_ == Mutation::kLayerNormGammaGradTooLarge && dgamma != nullptr) {
      for (int64_t i = 0; i < dim; ++i) dgamma[i] = before[i] + 1.05f * (dgamma[i] - before[i]);
    }
  }
  void GeluForward(const float* x, float* y, int64_t n) override { inner_->GeluForward(x, y, n); }
  void GeluBackward(const float* x, const float* dy, float* dx, int64_t n) override {
    inner_->GeluBackward(x, dy, dx, n);
  }
  void ReluForward(const float* x, float* y, int64_t n) override { inner_->ReluForward(x, y, n); }
  void ReluBackward(const float* x, const float* dy, float* dx, int64_t n) override {
    inner_->ReluBackward(x, dy, dx, n);
    if (mutation_ == Mutation::kReluGradOneAtZero) {
      for (int64_t i = 0; i < n; ++i) {
        if (x[i] == 0.0f) dx[i] = dy[i];
      }
    }
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
    if (mutation_ == Mutation::kConvRerunsDiffer && ++calls_ == 2) {
      for (int64_t i = 0; i < n * cout * h * width; ++i) y[i] = std::nextafter(y[i], INFINITY);
    }
  }
  void ConvSameBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                        float* db, int64_t n, int64_t cin, int64_t h, int64_t width, int64_t cout,
                        int64_t kernel) override {
    if (mutation_ == Mutation::kConvWeightGradOverwrites && dw != nullptr) {
      for (int64_t i = 0; i < cout * cin * kernel * kernel; ++i) dw[i] = 0.0f;
    }
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
  Mutation mutation_;
  int64_t calls_ = 0;
};

}  // namespace backend_test
}  // namespace twophase

#endif  // TWOPHASE_CORE_MUTANT_BACKEND_TEST_UTIL_H_
