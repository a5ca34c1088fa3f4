#include <cmath>

#include "models/layers.h"

namespace twophase {

Linear::Linear(LayerContext ctx, const std::string& name, int64_t in, int64_t out, bool bias)
    : ctx_(ctx), in_(in), out_(out) {
  w_ = ctx_.params->Add(name + ".weight", {out, in});
  if (bias) b_ = ctx_.params->Add(name + ".bias", {out});
}

void Linear::Initialize(Rng& rng) {
  // torch.nn.Linear.reset_parameters: kaiming_uniform_(a=sqrt(5)) gives
  // U(-1/sqrt(in), 1/sqrt(in)) for the weight; the bias uses the same bound.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_));
  float* w = ctx_.params->value(w_);
  for (int64_t i = 0; i < in_ * out_; ++i) {
    w[i] = static_cast<float>(rng.Uniform(-bound, bound));
  }
  if (b_ >= 0) {
    float* b = ctx_.params->value(b_);
    for (int64_t i = 0; i < out_; ++i) {
      b[i] = static_cast<float>(rng.Uniform(-bound, bound));
    }
  }
}

void Linear::Forward(const float* x, float* y, int64_t rows, const float* residual) {
  x_ = x;
  rows_ = rows;
  const float* w = ctx_.params->value(w_);
  const float* b = b_ >= 0 ? ctx_.params->value(b_) : nullptr;
  if (residual != nullptr) {
    ctx_.backend->LinearForwardResidual(x, w, b, residual, y, rows, in_, out_);
  } else {
    ctx_.backend->LinearForward(x, w, b, y, rows, in_, out_);
  }
}

void Linear::Backward(const float* dy, float* dx) {
  ctx_.backend->LinearBackward(x_, ctx_.params->value(w_), dy, dx, ctx_.params->grad(w_),
                               b_ >= 0 ? ctx_.params->grad(b_) : nullptr, rows_, in_, out_);
}

}  // namespace twophase
