// The basic layers of models/layers.h (Linear is in linear.cc, the
// transformer-specific layers in embedding.cc and attention.cc). Each one
// only keeps what its backward pass needs and hands the numbers to the
// backend.
#include "models/layers.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace twophase {

// ---------------------------------------------------------------- LayerNorm

LayerNorm::LayerNorm(LayerContext ctx, const std::string& name, int64_t dim, float eps)
    : ctx_(ctx), dim_(dim), eps_(eps) {
  gamma_ = ctx_.params->Add(name + ".weight", {dim});
  beta_ = ctx_.params->Add(name + ".bias", {dim});
}

void LayerNorm::Initialize() {
  // torch.nn.LayerNorm.reset_parameters: weight 1, bias 0.
  float* gamma = ctx_.params->value(gamma_);
  float* beta = ctx_.params->value(beta_);
  for (int64_t i = 0; i < dim_; ++i) {
    gamma[i] = 1.0f;
    beta[i] = 0.0f;
  }
}

void LayerNorm::Forward(const float* x, float* y, int64_t rows) {
  x_ = x;
  rows_ = rows;
  // Grows only: no allocation once the largest batch has been seen.
  if (static_cast<int64_t>(mean_.size()) < rows) {
    mean_.resize(rows);
    rstd_.resize(rows);
  }
  ctx_.backend->LayerNormForward(x, ctx_.params->value(gamma_), ctx_.params->value(beta_), y,
                                 mean_.data(), rstd_.data(), rows, dim_, eps_);
}

void LayerNorm::Backward(const float* dy, float* dx) {
  ctx_.backend->LayerNormBackward(x_, ctx_.params->value(gamma_), mean_.data(), rstd_.data(), dy,
                                  dx, ctx_.params->grad(gamma_), ctx_.params->grad(beta_), rows_,
                                  dim_);
}

// ---------------------------------------------------------- GELU and ReLU

void Gelu::Forward(const float* x, float* y, int64_t n) {
  x_ = x;
  n_ = n;
  backend_->GeluForward(x, y, n);
}

void Gelu::Backward(const float* dy, float* dx) { backend_->GeluBackward(x_, dy, dx, n_); }

void Relu::Forward(const float* x, float* y, int64_t n) {
  x_ = x;
  n_ = n;
  backend_->ReluForward(x, y, n);
}

void Relu::Backward(const float* dy, float* dx) { backend_->ReluBackward(x_, dy, dx, n_); }

// ------------------------------------------------------------------ Softmax

void Softmax::Forward(const float* x, float* y, int64_t rows, int64_t cols) {
  // The backward pass needs only the output: dx = y * (dy - <dy, y>).
  y_ = y;
  rows_ = rows;
  cols_ = cols;
  backend_->SoftmaxForward(x, y, rows, cols);
}

void Softmax::Backward(const float* dy, float* dx) {
  backend_->SoftmaxBackward(y_, dy, dx, rows_, cols_);
}

// --------------------------------------------------------------- Conv2dSame

Conv2dSame::Conv2dSame(LayerContext ctx, const std::string& name, int64_t cin, int64_t cout,
                       int64_t kernel)
    : ctx_(ctx), cin_(cin), cout_(cout), kernel_(kernel) {
  w_ = ctx_.params->Add(name + ".weight", {cout, cin, kernel, kernel});
  b_ = ctx_.params->Add(name + ".bias", {cout});
}

void Conv2dSame::Initialize(Rng& rng) {
  // torch.nn.Conv2d.reset_parameters: kaiming_uniform_(a=sqrt(5)) gives
  // U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = cin*k*k, for the weight;
  // the bias uses the same bound. Weight first, then bias, as Linear.
  const int64_t fan_in = cin_ * kernel_ * kernel_;
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  float* w = ctx_.params->value(w_);
  for (int64_t i = 0; i < cout_ * fan_in; ++i) {
    w[i] = static_cast<float>(rng.Uniform(-bound, bound));
  }
  float* b = ctx_.params->value(b_);
  for (int64_t i = 0; i < cout_; ++i) {
    b[i] = static_cast<float>(rng.Uniform(-bound, bound));
  }
}

void Conv2dSame::Forward(const float* x, float* y, int64_t n, int64_t h, int64_t w) {
  x_ = x;
  n_ = n;
  h_ = h;
  width_ = w;
  ctx_.backend->ConvSameForward(x, ctx_.params->value(w_), ctx_.params->value(b_), y, n, cin_, h, w,
                                cout_, kernel_);
}

void Conv2dSame::Backward(const float* dy, float* dx) {
  ctx_.backend->ConvSameBackward(x_, ctx_.params->value(w_), dy, dx, ctx_.params->grad(w_),
                                 ctx_.params->grad(b_), n_, cin_, h_, width_, cout_, kernel_);
}

// --------------------------------------------------------------- MaxPool2x2

void MaxPool2x2::Forward(const float* x, float* y, int64_t n, int64_t c, int64_t h, int64_t w,
                         bool training) {
  n_ = n;
  c_ = c;
  h_ = h;
  w_ = w;
  has_argmax_ = training;
  if (training) argmax_.resize(n * c * (h / 2) * (w / 2));
  backend_->MaxPool2x2Forward(x, y, training ? argmax_.data() : nullptr, n, c, h, w);
}

void MaxPool2x2::Backward(const float* dy, float* dx) {
  if (!has_argmax_) {
    std::fprintf(stderr, "MaxPool2x2::Backward after an evaluation-mode Forward\n");
    std::abort();
  }
  backend_->MaxPool2x2Backward(argmax_.data(), dy, dx, n_, c_, h_, w_);
}

}  // namespace twophase
