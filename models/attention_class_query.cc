// SelfAttention with the class token's query alone (Forward's
// class_token_only; notation as in attention.cc). Per (sample, head) pair,
// with q the class token's query row (token 0) and K, V all T rows:
//   p = softmax(s q K^T)  [1, T],   c = p V  [1, d]
// and backward, with g = dL/dc:
//   dp = g V^T,  ds = s * p o (dp - dp . p),
//   dq = ds K   (token 0's query row; the other tokens' query rows get 0),
//   dK = ds^T q,  dV = p^T g   (outer products: every token's key and value)
// With a shared query/key projection the two uses add up in one gradient.
// The loops are plain (with one query row a pair is 4 * T * d multiply-adds,
// a T-th of the full attention, and the vectors of d = 16 floats vectorise
// as they are) but for the T dot products q . k_j and g . v_j, which
// kernels::RowDots runs 16 at a time. One thread per pair and a
// fixed order, as in attention.cc.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/attention.h"
#include "kernels/fast_math.h"
#include "models/layers.h"

namespace twophase {
namespace {

// p = softmax(scale * q k^T) over t keys (rows of k, stride ldk), then
// out = p v (rows of v, stride ldv); d columns. scratch: RowDotsScratch.
void OneQueryForward(const float* q, const float* k, int64_t ldk, const float* v, int64_t ldv,
                     float scale, int64_t t, int64_t d, float* p, float* out, float* scratch) {
  // The dot products q . k_j, 16 keys at a time (one at a time, each is a
  // chain of d dependent additions; BM_Layer/attention/vit_class_token
  // about 2 % faster).
  kernels::RowDots(q, k, ldk, t, d, p, scratch);
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < t; ++j) {
    p[j] = scale * p[j];
    max = std::max(max, p[j]);
  }
  float sum = 0.0f;
  for (int64_t j = 0; j < t; ++j) {
    p[j] = kernels::ExpNonPositive(p[j] - max);
    sum += p[j];
  }
  const float inv = 1.0f / sum;  // sum >= 1: the maximum contributes 1
  for (int64_t j = 0; j < t; ++j) p[j] *= inv;
  std::fill(out, out + d, 0.0f);
  for (int64_t j = 0; j < t; ++j) {
    for (int64_t e = 0; e < d; ++e) out[e] += p[j] * v[j * ldv + e];
  }
}

}  // namespace

void SelfAttention::ClassQueryForward(float* y) {
  const int64_t t = tokens_, d_model = dim_, heads = options_.heads, n = n_;
  const int64_t head_dim = d_model / heads;
  const bool project_v = !options_.no_value_output;
  const Views in = InputViews();  // plain locals for the OpenMP regions
  const float *q = in.q, *k = in.k, *v = in.v;
  const int64_t ld = in.ld, v_ld = in.v_ld;
  if (project_v) context_.resize(static_cast<size_t>(n * d_model));
  float* c = project_v ? context_.data() : y;  // [n, D]: one row per sample
  probs_.resize(static_cast<size_t>(n * heads * t));
  float* probs = probs_.data();
  const float scale = static_cast<float>(1.0 / std::sqrt(double(head_dim)));

  const int64_t per_thread = kernels::RowDotsScratch(t, head_dim);
  pair_scratch_.resize(static_cast<size_t>(omp_get_max_threads() * per_thread));

#pragma omp parallel if (2 * n * heads * t * head_dim >= kMinParallelWork)
  {
    // omp_get_num_threads() <= omp_get_max_threads() read above.
    float* scratch = pair_scratch_.data() + omp_get_thread_num() * per_thread;
#pragma omp for schedule(static)
    for (int64_t pair = 0; pair < n * heads; ++pair) {
      const int64_t s = pair / heads, h = pair % heads;
      const int64_t in_base = s * t * ld + h * head_dim;
      OneQueryForward(q + in_base, k + in_base, ld, v + s * t * v_ld + h * head_dim, v_ld, scale, t,
                      head_dim, probs + pair * t, c + s * d_model + h * head_dim, scratch);
    }
  }
  if (project_v) projections_.back().Forward(context_.data(), y, n);
}

void SelfAttention::ClassQueryBackward(const float* grad_c, float* dqkv, float* dv_of_x,
                                       float* scratch, int64_t per_thread) {
  const int64_t t = tokens_, d_model = dim_, heads = options_.heads, n = n_;
  const int64_t head_dim = d_model / heads;
  const bool shared = options_.shared_query_key;
  const Views in = InputViews();  // plain locals for the OpenMP regions
  const float *q = in.q, *k = in.k, *v = in.v;
  const int64_t ld = in.ld, v_ld = in.v_ld;
  const GradViews grad = InputGradViews(dqkv, dv_of_x);
  float *dq = grad.dq, *dk = grad.dk, *dv = grad.dv;
  const float* probs = probs_.data();
  const float scale = static_cast<float>(1.0 / std::sqrt(double(head_dim)));

#pragma omp parallel if (4 * n * heads * t * head_dim >= kMinParallelWork)
  {
    // per_thread >= t + head_dim + RowDotsScratch floats;
    // omp_get_num_threads() <= omp_get_max_threads(), for which the caller
    // sized scratch.
    float* ds = scratch + omp_get_thread_num() * per_thread;
    float* dq0 = ds + t;
    float* dots_scratch = dq0 + head_dim;
#pragma omp for schedule(static)
    for (int64_t pair = 0; pair < n * heads; ++pair) {
      const int64_t s = pair / heads, h = pair % heads;
      const int64_t base = s * t * ld + h * head_dim;
      const int64_t v_base = s * t * v_ld + h * head_dim;
      const float* g = grad_c + s * d_model + h * head_dim;
      const float* p = probs + pair * t;
      const float* q0 = q + base;  // the class token's query
      // ds = s * p o (g V^T - (g V^T) . p), g V^T as in the forward pass.
      kernels::RowDots(g, v + v_base, v_ld, t, head_dim, ds, dots_scratch);
      // One fused multiply-add per term, as GCC compiled the former
      // interleaved loop (so the same bits as before this used RowDots).
      float dot = 0.0f;
      for (int64_t j = 0; j < t; ++j) dot = std::fma(ds[j], p[j], dot);
      for (int64_t j = 0; j < t; ++j) ds[j] = scale * p[j] * (ds[j] - dot);
      // The class token's query gradient, dq0 = ds K.
      std::fill(dq0, dq0 + head_dim, 0.0f);
      for (int64_t j = 0; j < t; ++j) {
        for (int64_t c = 0; c < head_dim; ++c) dq0[c] += ds[j] * k[base + j * ld + c];
      }
      // Every token: dV = p^T g and dK = ds^T q0; the query rows of tokens
      // 1.. get 0 (with a shared projection they carry the key use alone).
      for (int64_t j = 0; j < t; ++j) {
        float* dv_row = dv + v_base + j * v_ld;
        float* dk_row = dk + base + j * ld;
        for (int64_t e = 0; e < head_dim; ++e) dv_row[e] = p[j] * g[e];
        for (int64_t c = 0; c < head_dim; ++c) dk_row[c] = ds[j] * q0[c];
        if (!shared && j > 0) std::fill(dq + base + j * ld, dq + base + j * ld + head_dim, 0.0f);
      }
      for (int64_t c = 0; c < head_dim; ++c) {
        dq[base + c] = shared ? dq[base + c] + dq0[c] : dq0[c];
      }
    }
  }
}

}  // namespace twophase
