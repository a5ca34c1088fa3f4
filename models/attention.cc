// Multi-head scaled dot-product self-attention (SelfAttention in layers.h).
//
// Notation, per sample (x is [T, D], T tokens, D = dim, H heads of width
// d = D / H, s = 1 / sqrt(d)):
//   Q = x Wq^T + bq,  K = x Wk^T + bk,  V = x Wv^T + bv        [T, D]
//   per head h (columns h*d .. h*d+d-1 of Q, K, V):
//     S_h = s Q_h K_h^T,  P_h = softmax_rows(S_h),  C_h = P_h V_h
//   C = concat_h C_h,  y = C Wo^T + bo.
// Variants: shared_query_key uses one projection for both (K = Q, so S_h is
// symmetric); no_value_output takes V = x and y = C (no Wv, Wo).
//
// Backward, with G = dL/dC (= Wo-backward of dy, or dy itself):
//   dP_h = G_h V_h^T,  dV_h = P_h^T G_h,
//   dS_h = s * P_h o (dP_h - rowsum(dP_h o P_h))     (softmax backward, o =
//                                                      elementwise product)
//   dQ_h = dS_h K_h,   dK_h = dS_h^T Q_h.
// With a shared projection Q and K are the same tensor, so its gradient is
// the sum of both uses: dQK_h = dS_h K_h + dS_h^T Q_h. dx sums the input
// gradients of every projection that read x (and dV itself when V = x).
// (Here dS_h is the gradient with respect to Q_h K_h^T, s included.)
// y must not alias x (with no_value_output the heads write y while x is
// still read as V). Backward only reads the forward caches, so it may be
// called more than once per Forward.
//
// class_token_only (the ViT's last block, whose other outputs nothing
// reads): K and V from every token as above, but only the class token's
// query, so per pair one row of scores and probabilities and one output row
// (attention_class_query.cc).
//
// Speed: the input projections are one GEMM over all n*T rows (see
// InputProjections), the output projection another (through the backend).
// The per-(sample, head) products are small ([T, d] x [d, T] with T ~ 50-65,
// d ~ 16-64), so they run as one OpenMP loop over the n*H pairs, each pair
// done entirely by one thread with the single-threaded loops of
// kernels/attention.h on the strided [rows, D] buffers (no multithreaded
// library is called from inside the region). Every output element is
// written by exactly one thread in a fixed order, so the result does not
// depend on the OpenMP thread count (the projection GEMMs are as
// deterministic as the backend's sgemm).
//
// The row softmax and its backward are fused into the score products
// (kernels::ScoresSoftmax and ScoresSoftmaxBackward; rather than a
// backend call over an [n*H*T, T] buffer): each few rows of scores are
// normalised while still in L1, so the T x T block is written once, and the
// exponential is a vectorised one: with T = 50-65 the n*H*T*T scalar expf
// calls otherwise cost more than all the small matrix products together. It
// is the backend's max-subtracted softmax up to a few ulp (see
// ExpNonPositive in kernels/fast_math.h).

#include "kernels/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "kernels/kernels.h"
#include "models/layers.h"

namespace twophase {
SelfAttention::SelfAttention(LayerContext ctx, const std::string& name, int64_t tokens, int64_t dim,
                             AttentionOptions options)
    : ctx_(ctx), tokens_(tokens), dim_(dim), options_(options) {
  if (options_.heads < 1 || dim_ % options_.heads != 0) {
    std::fprintf(stderr, "SelfAttention %s: dim %lld is not a multiple of heads %lld\n",
                 name.c_str(), static_cast<long long>(dim_),
                 static_cast<long long>(options_.heads));
    std::abort();
  }
  // Registration order (fixes the flat parameter layout): q, k, v, out; or
  // qk, v, out; or qk alone (q, k without shared keys and no v/out).
  // Reserve first: Linear is stored by value and must not move later.
  projections_.reserve(4);
  if (options_.shared_query_key) {
    projections_.emplace_back(ctx, name + ".qk", dim, dim);
  } else {
    projections_.emplace_back(ctx, name + ".q", dim, dim);
    projections_.emplace_back(ctx, name + ".k", dim, dim);
  }
  if (!options_.no_value_output) {
    projections_.emplace_back(ctx, name + ".v", dim, dim);
    projections_.emplace_back(ctx, name + ".out", dim, dim);
  }
}

void SelfAttention::Initialize(Rng& rng) {
  for (Linear& p : projections_) p.Initialize(rng);
}

// The input projections (q, k, v; qk, v; q, k; or qk: every projection but
// the output one) run as ONE GEMM x [rows, D] * W_in^T [D, fused * D] with
// their weights packed side by side, so x is read once and the backward
// pass needs one dx GEMM with k = 3D instead of three plus two additions.
// Measured on vit-mlp's shapes (oneDNN, 2 threads, per block and step): the
// forward GEMM is no faster than three (6.6 against 3 x 2.1 ms), but the
// weight gradient (7.3 against 3 x 2.7 ms) and dx (6.0 against 3 x 2.1 ms
// plus two passes of AddTo) are: about 13 % off the projections.
int64_t SelfAttention::InputProjections() const {
  const int64_t all = static_cast<int64_t>(projections_.size());
  return options_.no_value_output ? all : all - 1;
}

SelfAttention::Views SelfAttention::InputViews() const {
  // Column offsets in qkv_: q (or qk) 0, k d_model unless shared, v last.
  const int64_t d_model = dim_, fused = InputProjections(), ld = fused * d_model;
  const bool project_v = !options_.no_value_output;
  const float* q = qkv_.data();
  return {q, options_.shared_query_key ? q : q + d_model,
          project_v ? q + (fused - 1) * d_model : x_, ld, project_v ? ld : d_model};
}

SelfAttention::GradViews SelfAttention::InputGradViews(float* dqkv, float* dv_of_x) const {
  const int64_t d_model = dim_, fused = InputProjections();
  return {dqkv, options_.shared_query_key ? dqkv : dqkv + d_model,
          options_.no_value_output ? dv_of_x : dqkv + (fused - 1) * d_model};
}

void SelfAttention::ProjectInputs(const float* x, int64_t rows) {
  const int64_t d_model = dim_, fused = InputProjections();
  const int64_t ld = fused * d_model;  // row stride of qkv_
  w_in_.resize(static_cast<size_t>(ld * d_model));
  b_in_.resize(static_cast<size_t>(ld));
  for (int64_t p = 0; p < fused; ++p) {
    const Linear& proj = projections_[p];
    std::copy(proj.weight(), proj.weight() + d_model * d_model,
              w_in_.data() + p * d_model * d_model);
    const float* b = proj.bias();
    if (b != nullptr) {
      std::copy(b, b + d_model, b_in_.data() + p * d_model);
    } else {
      std::fill(b_in_.data() + p * d_model, b_in_.data() + (p + 1) * d_model, 0.0f);
    }
  }
  qkv_.resize(static_cast<size_t>(rows * ld));
  ctx_.backend->LinearForward(x, w_in_.data(), b_in_.data(), qkv_.data(), rows, d_model, ld);
}

void SelfAttention::Forward(const float* x, float* y, int64_t n, bool class_token_only,
                            const float* residual) {
  const int64_t t = tokens_, d_model = dim_, heads = options_.heads;
  const int64_t head_dim = d_model / heads;
  const int64_t rows = n * t;
  const bool project_v = !options_.no_value_output;
  const size_t act = static_cast<size_t>(rows * d_model);
  x_ = x;
  n_ = n;
  class_token_only_ = class_token_only;
  ProjectInputs(x, rows);
  if (class_token_only) {
    if (residual != nullptr) {
      std::fprintf(stderr, "SelfAttention: a residual needs every token's output\n");
      std::abort();
    }
    return ClassQueryForward(y);
  }

  if (project_v) context_.resize(act);
  probs_.resize(static_cast<size_t>(n * heads * t * t));

  const Views in = InputViews();  // plain locals for the OpenMP region
  const float *q = in.q, *k = in.k, *v = in.v;
  const int64_t ld = in.ld, v_ld = in.v_ld;
  // Without an output projection the concatenated heads are the output.
  float* c = project_v ? context_.data() : y;
  float* probs = probs_.data();
  const float scale = static_cast<float>(1.0 / std::sqrt(double(head_dim)));
  const bool parallel = 2 * n * heads * t * t * head_dim >= kMinParallelWork;
  const int64_t per_thread = kernels::ScoresScratch(t, head_dim);
  pair_scratch_.resize(static_cast<size_t>(omp_get_max_threads() * per_thread));

#pragma omp parallel if (parallel)
  {
    // omp_get_num_threads() <= omp_get_max_threads() read above.
    float* scratch = pair_scratch_.data() + omp_get_thread_num() * per_thread;
#pragma omp for schedule(static)
    for (int64_t pair = 0; pair < n * heads; ++pair) {
      const int64_t s = pair / heads, h = pair % heads;
      const int64_t in_base = s * t * ld + h * head_dim;
      if (h == 0 && s + 1 < n) {
        kernels::PrefetchRows(qkv_.data(), (s + 1) * t, t, ld, false);
        if (!project_v) kernels::PrefetchRows(x_, (s + 1) * t, t, d_model, false);
      }
      float* p_data = probs + pair * t * t;
      kernels::ScoresSoftmax(q + in_base, ld, k + in_base, ld, scale, t, head_dim, p_data, scratch);
      kernels::RowCombinations(p_data, t, 1, v + s * t * v_ld + h * head_dim, v_ld, t, head_dim,
                               c + s * t * d_model + h * head_dim, d_model, false);
    }
  }

  if (project_v) {
    projections_.back().Forward(context_.data(), y, rows, residual);
  } else if (residual != nullptr) {  // y holds the heads: add as a separate pass
    kernels::AddTo(y, residual, static_cast<int64_t>(act));
  }
}

void SelfAttention::Backward(const float* dy, float* dx) {
  const int64_t t = tokens_, d_model = dim_, heads = options_.heads;
  const int64_t head_dim = d_model / heads;
  const int64_t n = n_;
  const int64_t rows = n * t;
  const bool shared = options_.shared_query_key;
  const bool project_v = !options_.no_value_output;
  const int64_t act = rows * d_model;
  const int64_t fused = InputProjections();
  const int64_t ld = fused * d_model;

  // scratch_ layout: dC [rows, D], d(qkv) [rows, ld], dV [rows, D] when
  // V = x, then per thread a [T, T] block for dS and ScoresSoftmaxBackward's
  // scratch; the class-token path uses T + d floats of the block's place
  // (t * t + d >= t + d) and RowDots' scratch (<= ScoresScratch).
  const int64_t threads = omp_get_max_threads();
  const int64_t dv_size = project_v ? 0 : act;
  const int64_t per_thread = t * t + head_dim + kernels::ScoresScratch(t, head_dim);
  scratch_.resize(static_cast<size_t>(act + rows * ld + dv_size + threads * per_thread));
  float* dc = scratch_.data();
  float* dqkv = dc + act;
  float* pair_scratch = dqkv + rows * ld + dv_size;

  const float* grad_c = dy;
  if (project_v) {
    projections_.back().Backward(dy, dc);
    grad_c = dc;
  }
  float* dv_of_x = project_v ? nullptr : dqkv + rows * ld;  // dV when V = x
  if (class_token_only_) {
    ClassQueryBackward(grad_c, dqkv, dv_of_x, pair_scratch, per_thread);
    return InputsBackward(dqkv, dv_of_x, dx);
  }

  const Views in = InputViews();  // plain locals for the OpenMP region
  const float *q = in.q, *k = in.k, *v = in.v;
  const int64_t v_ld = in.v_ld;
  const GradViews grad = InputGradViews(dqkv, dv_of_x);
  float *dq = grad.dq, *dk = grad.dk, *dv = grad.dv;
  const float* probs = probs_.data();
  const float scale = static_cast<float>(1.0 / std::sqrt(double(head_dim)));
  const bool parallel = 4 * n * heads * t * t * head_dim >= kMinParallelWork;

#pragma omp parallel if (parallel)
  {
    // omp_get_num_threads() <= omp_get_max_threads() read above.
    float* g = pair_scratch + omp_get_thread_num() * per_thread;
    float* kernel_scratch = g + t * t;
    using kernels::RowCombinations;
#pragma omp for schedule(static)
    for (int64_t pair = 0; pair < n * heads; ++pair) {
      const int64_t s = pair / heads, h = pair % heads;
      const int64_t in_base = s * t * ld + h * head_dim;
      const int64_t v_base = s * t * v_ld + h * head_dim;
      const float* gh = grad_c + s * t * d_model + h * head_dim;
      const float* p = probs + pair * t * t;
      if (h == 0 && s + 1 < n) {
        kernels::PrefetchRows(grad_c, (s + 1) * t, t, d_model, false);
        kernels::PrefetchRows(qkv_.data(), (s + 1) * t, t, ld, false);
        kernels::PrefetchRows(dqkv, (s + 1) * t, t, ld, true);
        if (!project_v) kernels::PrefetchRows(x_, (s + 1) * t, t, d_model, false);
      }
      // g = dS (* s), from dP = G V^T.
      kernels::ScoresSoftmaxBackward(gh, d_model, v + v_base, v_ld, p, scale, t, head_dim, g,
                                     kernel_scratch);
      RowCombinations(p, 1, t, gh, d_model, t, head_dim, dv + v_base, v_ld, false);     // P^T G
      RowCombinations(g, t, 1, k + in_base, ld, t, head_dim, dq + in_base, ld, false);  // dS K
      if (shared) {  // the key use of Q: dQ += dS^T Q
        RowCombinations(g, 1, t, q + in_base, ld, t, head_dim, dq + in_base, ld, true);
      } else {  // dK = dS^T Q
        RowCombinations(g, 1, t, q + in_base, ld, t, head_dim, dk + in_base, ld, false);
      }
    }
  }

  InputsBackward(dqkv, dv_of_x, dx);
}

// One backward GEMM set for the packed input projections; their weight
// gradients come out packed and are added to each projection's own.
void SelfAttention::InputsBackward(const float* dqkv, const float* dv_of_x, float* dx) {
  const int64_t d_model = dim_, rows = n_ * tokens_;
  const int64_t fused = InputProjections(), ld = fused * d_model;
  dw_in_.assign(static_cast<size_t>(ld * d_model), 0.0f);
  db_in_.assign(static_cast<size_t>(ld), 0.0f);
  ctx_.backend->LinearBackward(x_, w_in_.data(), dqkv, dx, dw_in_.data(), db_in_.data(), rows,
                               d_model, ld);
  for (int64_t p = 0; p < fused; ++p) {
    Linear& proj = projections_[p];
    kernels::AddTo(proj.weight_grad(), dw_in_.data() + p * d_model * d_model, d_model * d_model);
    if (proj.bias_grad() != nullptr)
      kernels::AddTo(proj.bias_grad(), db_in_.data() + p * d_model, d_model);
  }
  if (dv_of_x != nullptr && dx != nullptr) kernels::AddTo(dx, dv_of_x, rows * d_model);  // V = x
}

}  // namespace twophase
