// The oneDNN backend: GEMM and linear layers (matmul), layer normalization,
// GELU and ReLU (eltwise) and softmax; convolution and max-pool are in
// onednn_conv.cc. See onednn_internal.h for the primitive cache.
//
// Determinism. oneDNN documents its primitives as run-to-run deterministic
// in a fixed environment (hardware, library, environment variables, thread
// count), except implementations built on atomics, which the
// "deterministic" attribute of oneDNN 3.4 and later excludes. 2.6 has no
// such attribute, so we rely on -- and test -- the determinism of the
// implementations dispatched here (brgemm matmul, jit convolution, pooling
// and eltwise, simple layer norm, softmax): they split work statically over
// the OpenMP threads and reduce partial sums in a fixed order. To keep the
// environment fixed we (1) key the primitive cache on the thread count,
// (2) set the strict fp32 math mode on every primitive, so no environment
// variable can switch on bf16 arithmetic, and (3) report the instruction set
// oneDNN dispatches to (OnednnSettingsDescription) for the run metadata.
// Parameter gradients accumulate either through a matmul sum post-op or
// through scratch and the shared fixed-order kernels::AddTo; linear bias
// gradients are the shared fixed-order column sums (kernels::AddColumnSums;
// kernels/kernels.h).
// backend_consistency_test.cc and backend_model_test.cc check bit-identical
// reruns of every op and of training steps.
#include "core/onednn_backend.h"

#include <omp.h>

#include <cmath>
#include <cstring>
#include <string>

#include "core/onednn_internal.h"
#include "kernels/kernels.h"

namespace twophase {

using onednn::Args;
using onednn::Attr;
using onednn::Cached;
using onednn::Dims;
using onednn::Guarded;
using onednn::kF32;
using onednn::Op;
using onednn::Plain;
using onednn::Tag;
using onednn::Wrap;

namespace {

// A float's bits, for cache keys.
uint64_t Bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof(u));
  return u;
}

struct MatmulOp : Cached {
  dnnl::matmul prim;
  dnnl::memory a, b, bias, c, residual;
  dnnl::memory b_user;  // with pack_b: the caller's B, reordered into b
  dnnl::reorder pack;
  Args args;
};

struct LayerNormOp : Cached {
  dnnl::primitive prim;
  dnnl::memory x, y, gamma, beta, mean, variance, dy, dx, dgamma, dbeta;
  std::vector<float> variance_scratch, dx_scratch, dgamma_scratch, dbeta_scratch, shift_scratch;
  Args args;
};

struct SimpleOp : Cached {
  dnnl::primitive prim;
  dnnl::memory in, in2, out;
  Args args;
};

dnnl::normalization_flags LayerNormFlags() {
  return dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
}

}  // namespace

int32_t OnednnThreads() { return omp_get_max_threads(); }

OnednnBackend::OnednnBackend() {
  Guarded("engine creation", [&] {
    engine_ = dnnl::engine(dnnl::engine::kind::cpu, 0);
    stream_ = dnnl::stream(engine_);
  });
}

// C[m, n] = alpha * A[m, k] B[k, n] (+ bias[n]) + beta * C on strided views
// (A's element (i, p) at a[i * a_rows + p * a_cols], and so on), so that
// transposes are strides, not copies. alpha is the output scale and beta a
// sum post-op: C = alpha * acc + beta * C, with C read only if beta != 0.
// beta = 1 is how parameter gradients accumulate: the sum post-op adds the
// finished float product to C, the same single addition as a scratch
// buffer followed by +=. A residual R ([m, n], row stride ldc) is a binary
// add post-op: C = (acc + bias) + R, the same two float additions as the
// product followed by a separate pass, without that pass.
//
// pack_b (a layer's weights as B): the primitive is made for B in the
// layout it chooses ("any") and each call first reorders the caller's B
// into it (a copy; a few microseconds for the ViT's 64 KB weights).
// Otherwise brgemm repacks B inside the call, and at vit-mlp's shapes the
// matmuls took 6-22 % longer (25600x64 by 64x256 with W untransposed:
// 3.47 against 2.71 ms; standalone, 2 threads).
void OnednnBackend::Matmul(const MatmulShape& s, const float* a, const float* b, const float* bias,
                           float* c, const float* residual) {
  const bool has_bias = bias != nullptr, has_residual = residual != nullptr;
  MatmulOp& op = Get<MatmulOp>(
      Op::kMatmul,
      {s.m, s.n, s.k, s.a_rows, s.a_cols, s.b_rows, s.b_cols, s.ldc,
       int64_t{has_bias} | int64_t{has_residual} << 1 | int64_t{s.pack_b} << 2,
       static_cast<int64_t>(Bits(s.alpha) << 32 | Bits(s.beta))},
      [&] {
        auto op = std::make_unique<MatmulOp>();
        const dnnl::memory::desc a_md({s.m, s.k}, kF32, Dims{s.a_rows, s.a_cols});
        const dnnl::memory::desc b_md({s.k, s.n}, kF32, Dims{s.b_rows, s.b_cols});
        const dnnl::memory::desc c_md({s.m, s.n}, kF32, Dims{s.ldc, 1});
        const auto bias_md = Plain({1, s.n}, Tag::ab);
        dnnl::primitive_attr attr = Attr();
        if (s.alpha != 1.0f) attr.set_output_scales(0, {s.alpha});
        dnnl::post_ops ops;
        if (s.beta != 0.0f) ops.append_sum(s.beta);
        if (has_residual) ops.append_binary(dnnl::algorithm::binary_add, c_md);
        attr.set_post_ops(ops);
        const dnnl::memory::desc b_prim_md =
            s.pack_b ? dnnl::memory::desc({s.k, s.n}, kF32, Tag::any) : b_md;
        const auto desc = has_bias ? dnnl::matmul::desc(a_md, b_prim_md, bias_md, c_md)
                                   : dnnl::matmul::desc(a_md, b_prim_md, c_md);
        const dnnl::matmul::primitive_desc pd(desc, attr, engine_);
        op->prim = dnnl::matmul(pd);
        op->a = Wrap(engine_, a_md);
        if (s.pack_b) {
          op->b_user = Wrap(engine_, b_md);
          op->b = dnnl::memory(pd.weights_desc(), engine_);  // owned by oneDNN
          op->pack = dnnl::reorder(op->b_user, op->b);
        } else {
          op->b = Wrap(engine_, b_md);
        }
        op->c = Wrap(engine_, c_md);
        op->args = {{DNNL_ARG_SRC, op->a}, {DNNL_ARG_WEIGHTS, op->b}, {DNNL_ARG_DST, op->c}};
        if (has_bias) {
          op->bias = Wrap(engine_, bias_md);
          op->args[DNNL_ARG_BIAS] = op->bias;
        }
        if (has_residual) {
          op->residual = Wrap(engine_, c_md);
          // The post-op's index: after the sum when there is one.
          op->args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(s.beta != 0.0f ? 1 : 0) | DNNL_ARG_SRC_1] =
              op->residual;
        }
        return op;
      });
  op.a.set_data_handle(const_cast<float*>(a));
  if (s.pack_b) {
    op.b_user.set_data_handle(const_cast<float*>(b));
    op.pack.execute(stream_, op.b_user, op.b);
  } else {
    op.b.set_data_handle(const_cast<float*>(b));
  }
  if (has_bias) op.bias.set_data_handle(const_cast<float*>(bias));
  if (has_residual) op.residual.set_data_handle(const_cast<float*>(residual));
  op.c.set_data_handle(c);
  op.prim.execute(stream_, op.args);
  stream_.wait();
}

void OnednnBackend::Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                         const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                         float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {  // no products: C = beta * C
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    }
    return;
  }
  Guarded("Gemm", [&] {
    Matmul({m, n, k, trans_a ? 1 : lda, trans_a ? lda : 1, trans_b ? 1 : ldb, trans_b ? ldb : 1,
            ldc, alpha, beta},
           a, b, nullptr, c);
  });
}

// y[rows, out] = x[rows, in] W^T + b: W [out, in] read as W^T [in, out]
// through its strides.
void OnednnBackend::LinearForward(const float* x, const float* w, const float* b, float* y,
                                  int64_t rows, int64_t in, int64_t out) {
  Guarded("LinearForward", [&] {
    Matmul({rows, out, in, in, 1, 1, in, out, 1.0f, 0.0f, /*pack_b=*/true}, x, w, b, y);
  });
}

void OnednnBackend::LinearForwardResidual(const float* x, const float* w, const float* b,
                                          const float* r, float* y, int64_t rows, int64_t in,
                                          int64_t out) {
  Guarded("LinearForwardResidual", [&] {
    Matmul({rows, out, in, in, 1, 1, in, out, 1.0f, 0.0f, /*pack_b=*/true}, x, w, b, y, r);
  });
}

// dx = dy W;  dw += dy^T x;  db += column sums of dy (our own loop, shared
// with the BLAS backend: oneDNN 2.6's reduction primitive has only a
// reference implementation, and a row of ones times dy as a matmul (M = 1)
// took 11 ms at 25600x256 on a loaded machine, 64 % of the fc1 forward GEMM).
//
// The weight gradient is a long reduction (k = rows) into a small [out, in]
// matrix. oneDNN's brgemm runs it faster with the larger of the two sides as
// M: at k = 25600, 2 threads, [64, 256] as dy^T x took 4.2 ms, as the
// transposed product x^T dy [256, 64] 3.3 ms (and [256, 64] = dy^T x itself
// 3.3 ms against 4.1 ms transposed). So a layer with out < in (the MLP's
// fc2) gets dw^T = x^T dy into scratch and adds its transpose: the same one
// addition of the finished product as the sum post-op. (A transposed
// destination stride makes oneDNN fall back to a reference kernel.)
void OnednnBackend::LinearBackward(const float* x, const float* w, const float* dy, float* dx,
                                   float* dw, float* db, int64_t rows, int64_t in, int64_t out) {
  Guarded("LinearBackward", [&] {
    if (dx != nullptr) {
      Matmul({rows, in, out, out, 1, in, 1, in, 1.0f, 0.0f, /*pack_b=*/true}, dy, w, nullptr, dx);
    }
    if (dw != nullptr && out >= in) {
      Matmul({out, in, rows, 1, out, in, 1, in, 1.0f, 1.0f}, dy, x, nullptr, dw);
    } else if (dw != nullptr) {
      dw_transposed_.resize(in * out);
      float* dwt = dw_transposed_.data();
      Matmul({in, out, rows, 1, in, out, 1, out, 1.0f, 0.0f}, x, dy, nullptr, dwt);
#pragma omp parallel for schedule(static) if (in * out >= (int64_t{1} << 15))
      for (int64_t o = 0; o < out; ++o) {
        for (int64_t i = 0; i < in; ++i) dw[o * in + i] += dwt[i * out + o];
      }
    }
    if (db != nullptr) kernels::AddColumnSums(dy, db, rows, out);
  });
}

// oneDNN saves the variance; the interface saves rstd = 1/sqrt(var + eps),
// computed here in float as oneDNN computes it internally.
void OnednnBackend::LayerNormForward(const float* x, const float* gamma, const float* beta,
                                     float* y, float* mean, float* rstd, int64_t rows, int64_t dim,
                                     float eps) {
  Guarded("LayerNormForward", [&] {
    LayerNormOp& l =
        Get<LayerNormOp>(Op::kLayerNormForward, {rows, dim, static_cast<int64_t>(Bits(eps))}, [&] {
          auto l = std::make_unique<LayerNormOp>();
          const auto data = Plain({rows, dim}, Tag::ab), stat = Plain({rows}, Tag::a);
          const auto param = Plain({dim}, Tag::a);
          const dnnl::layer_normalization_forward::primitive_desc pd(
              {dnnl::prop_kind::forward_training, data, stat, eps, LayerNormFlags()}, Attr(),
              engine_);
          l->prim = dnnl::layer_normalization_forward(pd);
          l->x = Wrap(engine_, data);
          l->y = Wrap(engine_, data);
          l->gamma = Wrap(engine_, param);
          l->beta = Wrap(engine_, param);
          l->mean = Wrap(engine_, stat);
          l->variance_scratch.resize(rows);
          l->variance = dnnl::memory(stat, engine_, l->variance_scratch.data());
          l->args = {{DNNL_ARG_SRC, l->x},       {DNNL_ARG_DST, l->y},
                     {DNNL_ARG_SCALE, l->gamma}, {DNNL_ARG_SHIFT, l->beta},
                     {DNNL_ARG_MEAN, l->mean},   {DNNL_ARG_VARIANCE, l->variance}};
          return l;
        });
    l.x.set_data_handle(const_cast<float*>(x));
    l.y.set_data_handle(y);
    l.gamma.set_data_handle(const_cast<float*>(gamma));
    l.beta.set_data_handle(const_cast<float*>(beta));
    l.mean.set_data_handle(mean);
    l.prim.execute(stream_, l.args);
    stream_.wait();
    const float* var = l.variance_scratch.data();
#pragma omp parallel for schedule(static) if (rows >= 4096)
    for (int64_t r = 0; r < rows; ++r) rstd[r] = 1.0f / std::sqrt(var[r] + eps);
  });
}

// The interface passes rstd, not eps; oneDNN wants variance and eps. With
// variance = 1/rstd^2 and eps = 0 it recomputes the same rstd (to an ulp).
void OnednnBackend::LayerNormBackward(const float* x, const float* gamma, const float* mean,
                                      const float* rstd, const float* dy, float* dx, float* dgamma,
                                      float* dbeta, int64_t rows, int64_t dim) {
  Guarded("LayerNormBackward", [&] {
    LayerNormOp& l = Get<LayerNormOp>(Op::kLayerNormBackward, {rows, dim}, [&] {
      auto l = std::make_unique<LayerNormOp>();
      const auto data = Plain({rows, dim}, Tag::ab), stat = Plain({rows}, Tag::a);
      const auto param = Plain({dim}, Tag::a);
      const dnnl::layer_normalization_forward::primitive_desc hint(
          {dnnl::prop_kind::forward_training, data, stat, 0.0f, LayerNormFlags()}, Attr(), engine_);
      const dnnl::layer_normalization_backward::primitive_desc pd(
          {dnnl::prop_kind::backward, data, data, stat, 0.0f, LayerNormFlags()}, Attr(), engine_,
          hint);
      l->prim = dnnl::layer_normalization_backward(pd);
      l->x = Wrap(engine_, data);
      l->dy = Wrap(engine_, data);
      l->dx = Wrap(engine_, data);
      l->gamma = Wrap(engine_, param);
      l->mean = Wrap(engine_, stat);
      l->variance_scratch.resize(rows);
      l->variance = dnnl::memory(stat, engine_, l->variance_scratch.data());
      l->dgamma_scratch.resize(dim);
      l->dbeta_scratch.resize(dim);
      l->dgamma = dnnl::memory(param, engine_, l->dgamma_scratch.data());
      l->dbeta = dnnl::memory(param, engine_, l->dbeta_scratch.data());
      // oneDNN 2.6 refuses to run without a shift argument, which the
      // backward pass never reads: give it zeros.
      l->shift_scratch.assign(dim, 0.0f);
      l->beta = dnnl::memory(param, engine_, l->shift_scratch.data());
      l->args = {{DNNL_ARG_SRC, l->x},
                 {DNNL_ARG_DIFF_DST, l->dy},
                 {DNNL_ARG_DIFF_SRC, l->dx},
                 {DNNL_ARG_SCALE, l->gamma},
                 {DNNL_ARG_MEAN, l->mean},
                 {DNNL_ARG_VARIANCE, l->variance},
                 {DNNL_ARG_DIFF_SCALE, l->dgamma},
                 {DNNL_ARG_DIFF_SHIFT, l->dbeta},
                 {DNNL_ARG_SHIFT, l->beta}};
      return l;
    });
    float* var = l.variance_scratch.data();
#pragma omp parallel for schedule(static) if (rows >= 4096)
    for (int64_t r = 0; r < rows; ++r) {
      var[r] = static_cast<float>(1.0 / (static_cast<double>(rstd[r]) * rstd[r]));
    }
    if (dx == nullptr) {
      l.dx_scratch.resize(rows * dim);  // only the first call without dx allocates
      dx = l.dx_scratch.data();
    }
    l.x.set_data_handle(const_cast<float*>(x));
    l.dy.set_data_handle(const_cast<float*>(dy));
    l.dx.set_data_handle(dx);
    l.gamma.set_data_handle(const_cast<float*>(gamma));
    l.mean.set_data_handle(const_cast<float*>(mean));
    l.prim.execute(stream_, l.args);
    stream_.wait();
    if (dgamma != nullptr) kernels::AddTo(dgamma, l.dgamma_scratch.data(), dim);
    if (dbeta != nullptr) kernels::AddTo(dbeta, l.dbeta_scratch.data(), dim);
  });
}

// ------------------------------------------------------------- eltwise

void OnednnBackend::EltwiseForward(dnnl::algorithm algorithm, const char* what, const float* x,
                                   float* y, int64_t n) {
  if (n <= 0) return;
  Guarded(what, [&] {
    SimpleOp& e = Get<SimpleOp>(Op::kEltwiseForward, {static_cast<int64_t>(algorithm), n}, [&] {
      auto e = std::make_unique<SimpleOp>();
      const auto md = Plain({n}, Tag::a);
      e->prim = dnnl::eltwise_forward(
          {{dnnl::prop_kind::forward_training, algorithm, md, 0.0f}, Attr(), engine_});
      e->in = Wrap(engine_, md);
      e->out = Wrap(engine_, md);
      e->args = {{DNNL_ARG_SRC, e->in}, {DNNL_ARG_DST, e->out}};
      return e;
    });
    e.in.set_data_handle(const_cast<float*>(x));
    e.out.set_data_handle(y);
    e.prim.execute(stream_, e.args);
    stream_.wait();
  });
}

void OnednnBackend::EltwiseBackward(dnnl::algorithm algorithm, const char* what, const float* x,
                                    const float* dy, float* dx, int64_t n) {
  if (n <= 0) return;
  Guarded(what, [&] {
    SimpleOp& e = Get<SimpleOp>(Op::kEltwiseBackward, {static_cast<int64_t>(algorithm), n}, [&] {
      auto e = std::make_unique<SimpleOp>();
      const auto md = Plain({n}, Tag::a);
      const dnnl::eltwise_forward::primitive_desc hint(
          {dnnl::prop_kind::forward_training, algorithm, md, 0.0f}, Attr(), engine_);
      e->prim = dnnl::eltwise_backward({{algorithm, md, md, 0.0f}, Attr(), engine_, hint});
      e->in = Wrap(engine_, md);
      e->in2 = Wrap(engine_, md);
      e->out = Wrap(engine_, md);
      e->args = {{DNNL_ARG_SRC, e->in}, {DNNL_ARG_DIFF_DST, e->in2}, {DNNL_ARG_DIFF_SRC, e->out}};
      return e;
    });
    e.in.set_data_handle(const_cast<float*>(x));
    e.in2.set_data_handle(const_cast<float*>(dy));
    e.out.set_data_handle(dx);
    e.prim.execute(stream_, e.args);
    stream_.wait();
  });
}

void OnednnBackend::GeluForward(const float* x, float* y, int64_t n) {
  EltwiseForward(dnnl::algorithm::eltwise_gelu_erf, "GeluForward", x, y, n);
}
void OnednnBackend::GeluBackward(const float* x, const float* dy, float* dx, int64_t n) {
  EltwiseBackward(dnnl::algorithm::eltwise_gelu_erf, "GeluBackward", x, dy, dx, n);
}
// alpha = 0: plain ReLU; the backward is dy where x > 0, else dy * 0 (0 at
// x == 0, as PyTorch).
void OnednnBackend::ReluForward(const float* x, float* y, int64_t n) {
  EltwiseForward(dnnl::algorithm::eltwise_relu, "ReluForward", x, y, n);
}
void OnednnBackend::ReluBackward(const float* x, const float* dy, float* dx, int64_t n) {
  EltwiseBackward(dnnl::algorithm::eltwise_relu, "ReluBackward", x, dy, dx, n);
}

// ------------------------------------------------------------- softmax

void OnednnBackend::SoftmaxForward(const float* x, float* y, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  Guarded("SoftmaxForward", [&] {
    SimpleOp& s = Get<SimpleOp>(Op::kSoftmaxForward, {rows, cols}, [&] {
      auto s = std::make_unique<SimpleOp>();
      const auto md = Plain({rows, cols}, Tag::ab);
      s->prim =
          dnnl::softmax_forward({{dnnl::prop_kind::forward_training, md, 1}, Attr(), engine_});
      s->in = Wrap(engine_, md);
      s->out = Wrap(engine_, md);
      s->args = {{DNNL_ARG_SRC, s->in}, {DNNL_ARG_DST, s->out}};
      return s;
    });
    s.in.set_data_handle(const_cast<float*>(x));
    s.out.set_data_handle(y);
    s.prim.execute(stream_, s.args);
    stream_.wait();
  });
}

void OnednnBackend::SoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows,
                                    int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  Guarded("SoftmaxBackward", [&] {
    SimpleOp& s = Get<SimpleOp>(Op::kSoftmaxBackward, {rows, cols}, [&] {
      auto s = std::make_unique<SimpleOp>();
      const auto md = Plain({rows, cols}, Tag::ab);
      const dnnl::softmax_forward::primitive_desc hint({dnnl::prop_kind::forward_training, md, 1},
                                                       Attr(), engine_);
      s->prim = dnnl::softmax_backward({{md, md, 1}, Attr(), engine_, hint});
      s->in = Wrap(engine_, md);
      s->in2 = Wrap(engine_, md);
      s->out = Wrap(engine_, md);
      s->args = {{DNNL_ARG_DST, s->in}, {DNNL_ARG_DIFF_DST, s->in2}, {DNNL_ARG_DIFF_SRC, s->out}};
      return s;
    });
    s.in.set_data_handle(const_cast<float*>(y));
    s.in2.set_data_handle(const_cast<float*>(dy));
    s.out.set_data_handle(dx);
    s.prim.execute(stream_, s.args);
    stream_.wait();
  });
}

// ------------------------------------------------------------- metadata

std::unique_ptr<Backend> MakeOnednnBackend() { return std::make_unique<OnednnBackend>(); }

std::string OnednnVersion() {
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch) + " (commit " + std::string(v->hash) + ")";
}

namespace {
const char* IsaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41:
      return "sse41";
    case dnnl::cpu_isa::avx:
      return "avx";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic:
      return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops:
      return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "other";
  }
}
const char* RuntimeName(unsigned runtime) {
  switch (runtime) {
    case DNNL_RUNTIME_OMP:
      return "OpenMP";
    case DNNL_RUNTIME_TBB:
      return "TBB";
    case DNNL_RUNTIME_SEQ:
      return "sequential";
    case DNNL_RUNTIME_THREADPOOL:
      return "threadpool";
    default:
      return "other";
  }
}
}  // namespace

std::string OnednnSettingsDescription() {
  return "cpu runtime " + std::string(RuntimeName(dnnl_version()->cpu_runtime)) + ", isa " +
         IsaName(dnnl::get_effective_cpu_isa()) +
         ", fpmath strict (set on every primitive), primitives cached per OpenMP thread count; "
         "no deterministic attribute before oneDNN 3.4: CPU primitives are run-to-run "
         "deterministic for a fixed isa and thread count";
}

}  // namespace twophase
