#include "models/loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/enum_names.h"

namespace twophase {
namespace {

constexpr EnumName<LossKind> kLossKinds[] = {
    {LossKind::kSoftmaxMse, "mse"},
    {LossKind::kSoftmaxCrossEntropy, "cross-entropy"},
};

}  // namespace

bool ParseLossKind(std::string_view name, LossKind* kind, std::string* error) {
  return ParseEnum(name, kLossKinds, "loss", kind, error);
}

std::string LossKindName(LossKind kind) { return EnumToName(kind, kLossKinds); }

LossSums EvaluateLoss(LossKind kind, const float* logits, const int32_t* labels, int64_t n,
                      int64_t classes, float* dlogits, double gradient_scale) {
  LossSums sums;
  // Per-sample losses go to their own slots and are summed serially in
  // sample order afterwards: an OpenMP reduction would combine the threads'
  // partial sums in whatever order they finish, and so change the last bits
  // from run to run and with the thread count.
  std::vector<double> sample_loss(n);
  std::vector<uint8_t> sample_correct(n);
#pragma omp parallel
  {
    std::vector<double> p(classes);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float* z = logits + i * classes;
      const int32_t label = labels[i];
      int64_t argmax = 0;
      double zmax = z[0];
      for (int64_t c = 1; c < classes; ++c) {
        if (z[c] > zmax) {
          zmax = z[c];
          argmax = c;
        }
      }
      sample_correct[i] = argmax == label;
      double denom = 0.0;
      for (int64_t c = 0; c < classes; ++c) {
        p[c] = std::exp(static_cast<double>(z[c]) - zmax);
        denom += p[c];
      }
      for (int64_t c = 0; c < classes; ++c) p[c] /= denom;

      if (kind == LossKind::kSoftmaxMse) {
        // l = (1/C) sum_c (p_c - y_c)^2;  dl/dp_c = (2/C)(p_c - y_c);
        // through the softmax: dl/dz_c = p_c (dl/dp_c - sum_k p_k dl/dp_k).
        double l = 0.0, dot = 0.0;
        for (int64_t c = 0; c < classes; ++c) {
          const double e = p[c] - (c == label ? 1.0 : 0.0);
          l += e * e;
          dot += p[c] * e;
        }
        sample_loss[i] = l / classes;
        if (dlogits != nullptr) {
          const double k = 2.0 / classes * gradient_scale;
          float* dz = dlogits + i * classes;
          for (int64_t c = 0; c < classes; ++c) {
            const double e = p[c] - (c == label ? 1.0 : 0.0);
            dz[c] = static_cast<float>(k * p[c] * (e - dot));
          }
        }
      } else {
        // l = -log p_label = log sum exp(z - zmax) - (z_label - zmax).
        sample_loss[i] = std::log(denom) - (z[label] - zmax);
        if (dlogits != nullptr) {
          float* dz = dlogits + i * classes;
          for (int64_t c = 0; c < classes; ++c) {
            dz[c] = static_cast<float>(gradient_scale * (p[c] - (c == label ? 1.0 : 0.0)));
          }
        }
      }
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    sums.loss_sum += sample_loss[i];
    sums.correct += sample_correct[i];
  }
  return sums;
}

}  // namespace twophase
