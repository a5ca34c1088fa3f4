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
#include "core/forwarding_backend_test_util.h"

namespace twophase {
namespace backend_test {

enum class Mutation {
  kNoLinearBiasGrad,            // LinearBackward leaves db alone
  kConvWeightGradOverwrites,    // ConvSameBackward: dw = grad instead of +=
  kReluGradOneAtZero,           // ReluBackward passes dy through at x == 0
  kLayerNormGammaGradTooLarge,  // dgamma's increment 5 % too large
  kConvRerunsDiffer,            // the 2nd ConvSameForward call an ulp off (a race)
};

class MutantBackend final : public ForwardingBackend {
 public:
  MutantBackend(std::unique_ptr<Backend> inner, Mutation mutation)
      : ForwardingBackend(std::move(inner)), mutation_(mutation) {}

  void LinearBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                      float* db, int64_t rows, int64_t in, int64_t out) override {
    if (mutation_ == Mutation::kNoLinearBiasGrad) db = nullptr;
    ForwardingBackend::LinearBackward(x, w, dy, dx, dw, db, rows, in, out);
  }
  void LayerNormBackward(const float* x, const float* gamma, const float* mean, const float* rstd,
                         const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows,
                         int64_t dim) override {
    std::vector<float> before;
    if (dgamma != nullptr) before.assign(dgamma, dgamma + dim);
    ForwardingBackend::LayerNormBackward(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows, dim);
    if (mutation_ == Mutation::kLayerNormGammaGradTooLarge && dgamma != nullptr) {
      for (int64_t i = 0; i < dim; ++i) dgamma[i] = before[i] + 1.05f * (dgamma[i] - before[i]);
    }
  }
  void ReluBackward(const float* x, const float* dy, float* dx, int64_t n) override {
    ForwardingBackend::ReluBackward(x, dy, dx, n);
    if (mutation_ == Mutation::kReluGradOneAtZero) {
      for (int64_t i = 0; i < n; ++i) {
        if (x[i] == 0.0f) dx[i] = dy[i];
      }
    }
  }
  void ConvSameForward(const float* x, const float* w, const float* b, float* y, int64_t n,
                       int64_t cin, int64_t h, int64_t width, int64_t cout,
                       int64_t kernel) override {
    ForwardingBackend::ConvSameForward(x, w, b, y, n, cin, h, width, cout, kernel);
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
    ForwardingBackend::ConvSameBackward(x, w, dy, dx, dw, db, n, cin, h, width, cout, kernel);
  }

 private:
  Mutation mutation_;
  int64_t calls_ = 0;
};

}  // namespace backend_test
}  // namespace twophase

#endif  // TWOPHASE_CORE_MUTANT_BACKEND_TEST_UTIL_H_
