#include "optimizers/adam.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/option_check.h"

namespace twophase {
namespace {

// Below this many entries the update runs on the calling thread: forking a
// team costs more than the arithmetic. The result is the same either way
// (every entry is updated independently), so this only affects speed.
constexpr int64_t kMinParallelSize = 1 << 14;

// a * b + c. PyTorch's CPU kernels for `add(other, alpha)` compute
// fmadd(other, alpha, self), a fused multiply-add with one rounding, and
// its addcmul kernel is compiled so that the outer multiply-add fuses too.
// Where the target has fast FMA (FP_FAST_FMAF: -march=native on any recent
// x86 or ARM) we fuse the same operations explicitly, which reproduces
// torch.optim.Adam bit for bit (checked in adam_test.cc); elsewhere the
// library fmaf would be a slow software routine, so we round twice and
// differ from PyTorch by an ulp now and then.
inline float MulAdd(float a, float b, float c) {
#ifdef FP_FAST_FMAF
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

}  // namespace

bool AdamOptions::IsValid(std::string* error) const {
  // Every comparison below is false for NaN, so NaN fails each check; the
  // isfinite() terms reject the infinities that the ranges alone would let
  // through (lr = +inf, eps = +inf, weight_decay = +inf).
  return CheckOption(std::isfinite(learning_rate) && learning_rate > 0, "learning_rate",
                     "> 0 and finite", learning_rate, error) &&
         CheckOption(beta1 >= 0 && beta1 < 1, "beta1", "in [0, 1)", beta1, error) &&
         CheckOption(beta2 >= 0 && beta2 < 1, "beta2", "in [0, 1)", beta2, error) &&
         CheckOption(std::isfinite(epsilon) && epsilon >= 0, "epsilon", ">= 0 and finite", epsilon,
                     error) &&
         CheckOption(std::isfinite(weight_decay) && weight_decay >= 0, "weight_decay",
                     ">= 0 and finite", weight_decay, error);
}

Adam::Adam(int64_t size, const AdamOptions& options)
    : options_(options), m_(size, 0.0f), v_(size, 0.0f) {}

void Adam::Reset() {
  t_ = 0;
  std::fill(m_.begin(), m_.end(), 0.0f);
  std::fill(v_.begin(), v_.end(), 0.0f);
}

void Adam::Step(float* x, const float* g) {
  ++t_;
  // Scalars exactly as torch.optim.Adam (_single_tensor_adam) forms them:
  // the bias corrections, step size and sqrt(bias_correction2) in double
  // (Python floats), then each rounded to float32 where it meets a float32
  // tensor op.
  const double t = static_cast<double>(t_);
  const double bias_correction1 = 1.0 - std::pow(options_.beta1, t);
  const double bias_correction2 = 1.0 - std::pow(options_.beta2, t);
  const float neg_step_size = static_cast<float>(-(options_.learning_rate / bias_correction1));
  const float bc2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  const float beta1 = static_cast<float>(options_.beta1);
  const float one_minus_beta1 = static_cast<float>(1.0 - options_.beta1);
  const float beta2 = static_cast<float>(options_.beta2);
  const float one_minus_beta2 = static_cast<float>(1.0 - options_.beta2);
  const float eps = static_cast<float>(options_.epsilon);
  const float wd = static_cast<float>(options_.weight_decay);
  const bool decay = options_.weight_decay != 0.0;
  float* m = m_.data();
  float* v = v_.data();
  const int64_t n = static_cast<int64_t>(m_.size());

  // Each line mirrors one tensor op of torch 1.13's _single_tensor_adam, in
  // its order of evaluation, so the float32 rounding matches step by step:
  //   grad = grad.add(param, alpha=wd)                  fma(wd, x, g)
  //   exp_avg.mul_(beta1).add_(grad, alpha=1-beta1)     fma(1-b1, g, m*b1)
  //   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
  //                                                     fma((1-b2)*g, g, v*b2)
  //   denom = (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
  //   param.addcdiv_(exp_avg, denom, value=-step_size)  x + (-step*m)/denom
  // Elementwise, hence identical for any thread count.
#pragma omp parallel for schedule(static) if (n >= kMinParallelSize)
  for (int64_t i = 0; i < n; ++i) {
    float grad = g[i];
    if (decay) grad = MulAdd(wd, x[i], grad);
    const float mi = MulAdd(one_minus_beta1, grad, m[i] * beta1);
    const float vi = MulAdd(one_minus_beta2 * grad, grad, v[i] * beta2);
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / bc2_sqrt + eps;
    x[i] = x[i] + neg_step_size * mi / denom;
  }
}

void Adam::SaveState(StateWriter* w) const {
  w->I64(t_);
  w->Floats(m_);
  w->Floats(v_);
}

bool Adam::LoadState(StateReader* r) {
  const int64_t size = static_cast<int64_t>(m_.size());
  return r->I64("adam.steps", &t_) && r->Floats("adam.m", size, &m_) &&
         r->Floats("adam.v", size, &v_);
}

}  // namespace twophase
