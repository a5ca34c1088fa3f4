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
// Speed: the projections are single big GEMMs over all n*T rows (through
// Linear and the backend). The per-(sample, head) products are small
// ([T, d] x [d, T] with T ~ 50-65, d ~ 16-64), so they run as one OpenMP loop
// over the n*H pairs, each pair done entirely by one thread with
// single-threaded Eigen products on strided Maps of the [rows, D] buffers
// (Eigen does not start threads of its own inside a parallel region, and we
// avoid calling multithreaded OpenBLAS from inside one). Every output element
// is written by exactly one thread in a fixed order, so the result does not
// depend on the OpenMP thread count (the projection GEMMs are as
// deterministic as the backend's sgemm).
//
// The row softmax is fused into that loop (rather than a backend call over an
// [n*H*T, T] buffer) so that the T x T block is still in cache, and it uses
// a vectorisable exponential: with T = 50-65 the n*H*T*T scalar expf calls
// otherwise cost more than all the small matrix products together. It is the
// backend's max-subtracted softmax up to a few ulp (see ExpNonPositive).

// GCC 12 with AVX-512 reports a false "may be used uninitialized" inside
// Eigen 3.4's packet transpose (an intrinsic's unused pass-through operand);
// it is in library code, so it is silenced for this file only. The pragma
// precedes every include because the warning is attributed to the intrinsic
// header, wherever it was first included.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <omp.h>

#include <Eigen/Dense>
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/fast_math.h"
#include "models/layers.h"

namespace twophase {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
// A [rows, cols] block of a row-major buffer whose rows are `stride` apart:
// one head's columns of a [T, D] matrix.
using Block = Eigen::Map<RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;
using ConstBlock = Eigen::Map<const RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;
using Square = Eigen::Map<RowMatrix>;

// Lanes of the explicit partial sums below: the compiler vectorises the
// lane loops, and the lanes are combined in a fixed order, so the rounding
// is the same for every thread count and every buffer address (an Eigen
// reduction peels to the address's alignment, which would not be).
constexpr int64_t kLanes = 16;

// Below about this many multiply-adds a loop runs on the calling thread: an
// OpenMP fork/join costs microseconds (far more on an oversubscribed
// machine), which would dominate small problems such as the gradient checks.
// Every element is computed the same way either way.
constexpr int64_t kMinParallelWork = int64_t{1} << 15;

// In-place softmax of each row of a [t, t] block: y = exp(x - max) / sum.
// (Mathematically the backend's SoftmaxForward; the exponential and the
// float lane sums differ from it by a few ulp.)
void SoftmaxRowsInPlace(float* p, int64_t t) {
  const int64_t body = t - t % kLanes;
  for (int64_t r = 0; r < t; ++r) {
    float* row = p + r * t;
    float lane[kLanes];
    for (int64_t j = 0; j < kLanes; ++j) lane[j] = row[0];
    for (int64_t c = 0; c < body; c += kLanes) {
      for (int64_t j = 0; j < kLanes; ++j) {
        lane[j] = std::max(lane[j], row[c + j]);
      }
    }
    float mx = row[0];
    for (int64_t j = 0; j < kLanes; ++j) mx = std::max(mx, lane[j]);
    for (int64_t c = body; c < t; ++c) mx = std::max(mx, row[c]);

    for (int64_t c = 0; c < t; ++c) row[c] = ExpNonPositive(row[c] - mx);

    for (int64_t j = 0; j < kLanes; ++j) lane[j] = 0.0f;
    for (int64_t c = 0; c < body; c += kLanes) {
      for (int64_t j = 0; j < kLanes; ++j) lane[j] += row[c + j];
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < kLanes; ++j) sum += lane[j];
    for (int64_t c = body; c < t; ++c) sum += row[c];
    const float inv = 1.0f / sum;  // sum >= 1: the maximum contributes 1
    for (int64_t c = 0; c < t; ++c) row[c] *= inv;
  }
}

// In place on g = dL/dP: g <- scale * P o (g - rowsum(g o P)). Without the
// scale this is dL/dS (the backend's SoftmaxBackward); with it, it is the
// gradient with respect to the unscaled product Q K^T, since S = s Q K^T.
void SoftmaxBackwardRowsInPlace(const float* p, float* g, int64_t t, float scale) {
  const int64_t body = t - t % kLanes;
  for (int64_t r = 0; r < t; ++r) {
    const float* pr = p + r * t;
    float* gr = g + r * t;
    float lane[kLanes] = {};
    for (int64_t c = 0; c < body; c += kLanes) {
      for (int64_t j = 0; j < kLanes; ++j) lane[j] += pr[c + j] * gr[c + j];
    }
    float d = 0.0f;
    for (int64_t j = 0; j < kLanes; ++j) d += lane[j];
    for (int64_t c = body; c < t; ++c) d += pr[c] * gr[c];
    for (int64_t c = 0; c < t; ++c) gr[c] = scale * (pr[c] * (gr[c] - d));
  }
}

void AddInto(float* dst, const float* src, int64_t count) {
#pragma omp parallel for schedule(static) if (count >= kMinParallelWork)
  for (int64_t i = 0; i < count; ++i) dst[i] += src[i];
}

}  // namespace

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

void SelfAttention::Forward(const float* x, float* y, int64_t n) {
  const int64_t t = tokens_, d_model = dim_, heads = options_.heads;
  const int64_t head_dim = d_model / heads;
  const int64_t rows = n * t;
  const bool shared = options_.shared_query_key;
  const bool project_v = !options_.no_value_output;
  const size_t act = static_cast<size_t>(rows * d_model);
  x_ = x;
  n_ = n;

  // Projections: one GEMM each over all n*T rows. Indices into projections_
  // follow the registration order: q (or qk) 0, k 1 unless shared, v, out.
  const int64_t k_index = shared ? 0 : 1;
  const int64_t v_index = k_index + 1;
  q_.resize(act);
  projections_[0].Forward(x, q_.data(), rows);
  if (!shared) {
    k_.resize(act);
    projections_[k_index].Forward(x, k_.data(), rows);
  }
  if (project_v) {
    v_.resize(act);
    projections_[v_index].Forward(x, v_.data(), rows);
    context_.resize(act);
  }
  probs_.resize(static_cast<size_t>(n * heads * t * t));

  const float* q = q_.data();
  const float* k = shared ? q_.data() : k_.data();
  const float* v = project_v ? v_.data() : x;
  // Without an output projection the concatenated heads are the output.
  float* c = project_v ? context_.data() : y;
  float* probs = probs_.data();
  const float scale = static_cast<float>(1.0 / std::sqrt(double(head_dim)));
  const Eigen::OuterStride<> stride(d_model);
  const bool parallel = 2 * n * heads * t * t * head_dim >= kMinParallelWork;

#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t pair = 0; pair < n * heads; ++pair) {
    const int64_t s = pair / heads, h = pair % heads;
    const int64_t base = s * t * d_model + h * head_dim;
    ConstBlock qh(q + base, t, head_dim, stride);
    ConstBlock kh(k + base, t, head_dim, stride);
    ConstBlock vh(v + base, t, head_dim, stride);
    float* p_data = probs + pair * t * t;
    Square p(p_data, t, t);
    p.noalias() = (scale * qh) * kh.transpose();
    SoftmaxRowsInPlace(p_data, t);
    Block ch(c + base, t, head_dim, stride);
    ch.noalias() = p * vh;
  }

  if (project_v) projections_[v_index + 1].Forward(context_.data(), y, rows);
}

void SelfAttention::Backward(const float* dy, float* dx) {
  const int64_t t = tokens_, d_model = dim_, heads = options_.heads;
  const int64_t head_dim = d_model / heads;
  const int64_t n = n_;
  const int64_t rows = n * t;
  const bool shared = options_.shared_query_key;
  const bool project_v = !options_.no_value_output;
  const int64_t act = rows * d_model;
  const int64_t k_index = shared ? 0 : 1;
  const int64_t v_index = k_index + 1;

  // scratch_ layout: dC (later reused as a dx accumulator), dQ, dK, dV, then
  // one [T, T] block per thread for dP / dS.
  const int64_t threads = omp_get_max_threads();
  scratch_.resize(static_cast<size_t>(4 * act + threads * t * t));
  float* dc = scratch_.data();
  float* dq = dc + act;
  float* dk = dq + act;
  float* dv = dk + act;
  float* pair_scratch = dv + act;

  const float* grad_c = dy;
  if (project_v) {
    projections_[v_index + 1].Backward(dy, dc);
    grad_c = dc;
  }

  const float* q = q_.data();
  const float* k = shared ? q_.data() : k_.data();
  const float* v = project_v ? v_.data() : x_;
  const float* probs = probs_.data();
  const float scale = static_cast<float>(1.0 / std::sqrt(double(head_dim)));
  const Eigen::OuterStride<> stride(d_model);
  const bool parallel = 4 * n * heads * t * t * head_dim >= kMinParallelWork;

#pragma omp parallel if (parallel)
  {
    // omp_get_num_threads() <= omp_get_max_threads() read above.
    float* g_data = pair_scratch + omp_get_thread_num() * t * t;
#pragma omp for schedule(static)
    for (int64_t pair = 0; pair < n * heads; ++pair) {
      const int64_t s = pair / heads, h = pair % heads;
      const int64_t base = s * t * d_model + h * head_dim;
      ConstBlock qh(q + base, t, head_dim, stride);
      ConstBlock kh(k + base, t, head_dim, stride);
      ConstBlock vh(v + base, t, head_dim, stride);
      ConstBlock gh(grad_c + base, t, head_dim, stride);
      const float* p_data = probs + pair * t * t;
      Eigen::Map<const RowMatrix> p(p_data, t, t);
      Square g(g_data, t, t);

      g.noalias() = gh * vh.transpose();  // dP
      Block dvh(dv + base, t, head_dim, stride);
      dvh.noalias() = p.transpose() * gh;
      SoftmaxBackwardRowsInPlace(p_data, g_data, t, scale);  // g = dS (* s)
      Block dqh(dq + base, t, head_dim, stride);
      dqh.noalias() = g * kh;
      if (shared) {
        dqh.noalias() += g.transpose() * qh;  // the key use of Q
      } else {
        Block dkh(dk + base, t, head_dim, stride);
        dkh.noalias() = g.transpose() * qh;
      }
    }
  }

  // Projection backward passes. Linear::Backward overwrites its dx, so the
  // first writes dx and the others go through dc (free now) and are added.
  float* tmp = dx != nullptr ? dc : nullptr;
  projections_[0].Backward(dq, dx);
  if (!shared) {
    projections_[k_index].Backward(dk, tmp);
    if (dx != nullptr) AddInto(dx, tmp, act);
  }
  if (project_v) {
    projections_[v_index].Backward(dv, tmp);
    if (dx != nullptr) AddInto(dx, tmp, act);
  } else if (dx != nullptr) {
    AddInto(dx, dv, act);  // V = x
  }
}

}  // namespace twophase
