// Layers with explicit forward and backward passes.
//
// A layer registers its parameters in the model's ParameterBuffer when it is
// constructed (PyTorch names and shapes) and reaches them through offsets, so
// the buffer may grow while the model is built. Forward() remembers a pointer
// to its input: the caller (the model) keeps every activation alive until the
// matching Backward(). Backward() overwrites dx (null: not needed) and
// accumulates parameter gradients into the buffer's gradient vector.
// Numeric work goes two ways (core/backend.h says which is which): the matrix
// products and the standard ops (linear, LayerNorm, GELU, ReLU, softmax,
// convolution, max-pool) are backend operations, virtual calls on the
// context's Backend, so the same layer runs on every backend; the small loops
// of the layers and models themselves -- SelfAttention's per-(sample, head)
// products with their fused softmax, gradient and residual additions -- call
// the shared kernels (kernels/kernels.h, kernels/attention.h), the same code
// on every backend. Patch unfolding and the class token and positions are
// plain loops in their layers (embedding.cc). Layers keep their own small
// caches (LayerNorm statistics, attention probabilities) between Forward and
// Backward.
#ifndef TWOPHASE_MODELS_LAYERS_H_
#define TWOPHASE_MODELS_LAYERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/parameter_buffer.h"
#include "core/rng.h"

namespace twophase {

// Below about this much work (elements or multiply-adds) a layer's own
// OpenMP loop runs on the calling thread: a fork/join costs microseconds
// (far more on an oversubscribed machine), which would dominate small
// problems such as the gradient checks. Every element is computed the same
// way either way.
inline constexpr int64_t kMinParallelWork = int64_t{1} << 15;

// What every parameterised layer is built with.
struct LayerContext {
  ParameterBuffer* params = nullptr;
  Backend* backend = nullptr;
};

// y[rows, out] = x[rows, in] W^T + b; W "name.weight" [out, in], b
// "name.bias" [out]. PyTorch default init: W, b ~ U(-1/sqrt(in), 1/sqrt(in)).
class Linear {
 public:
  Linear(LayerContext ctx, const std::string& name, int64_t in, int64_t out, bool bias = true);
  void Initialize(Rng& rng);
  // y = x W^T + b, plus residual[rows, out] when not null (a skip
  // connection added in the same pass; it does not change the backward).
  void Forward(const float* x, float* y, int64_t rows, const float* residual = nullptr);
  void Backward(const float* dy, float* dx);
  int64_t in() const { return in_; }
  int64_t out() const { return out_; }
  // The parameters and their gradients (bias: null without one), for layers
  // that fuse several Linears into one GEMM (SelfAttention).
  const float* weight() const { return ctx_.params->value(w_); }
  const float* bias() const { return b_ >= 0 ? ctx_.params->value(b_) : nullptr; }
  float* weight_grad() { return ctx_.params->grad(w_); }
  float* bias_grad() { return b_ >= 0 ? ctx_.params->grad(b_) : nullptr; }

 private:
  LayerContext ctx_;
  int64_t in_, out_;
  int64_t w_ = -1, b_ = -1;  // offsets; b_ = -1 without bias
  const float* x_ = nullptr;
  int64_t rows_ = 0;
};

// LayerNorm over the last dimension: "name.weight" (gamma, init 1) and
// "name.bias" (beta, init 0), both [dim]; eps 1e-5 as PyTorch.
class LayerNorm {
 public:
  LayerNorm(LayerContext ctx, const std::string& name, int64_t dim, float eps = 1e-5f);
  void Initialize();
  void Forward(const float* x, float* y, int64_t rows);
  void Backward(const float* dy, float* dx);

 private:
  LayerContext ctx_;
  int64_t dim_;
  float eps_;
  int64_t gamma_ = -1, beta_ = -1;
  const float* x_ = nullptr;
  int64_t rows_ = 0;
  std::vector<float> mean_, rstd_;
};

// Exact (erf) GELU, elementwise.
class Gelu {
 public:
  explicit Gelu(Backend* backend) : backend_(backend) {}
  void Forward(const float* x, float* y, int64_t n);
  void Backward(const float* dy, float* dx);

 private:
  Backend* backend_;
  const float* x_ = nullptr;
  int64_t n_ = 0;
};

class Relu {
 public:
  explicit Relu(Backend* backend) : backend_(backend) {}
  void Forward(const float* x, float* y, int64_t n);
  void Backward(const float* dy, float* dx);

 private:
  Backend* backend_;
  const float* x_ = nullptr;
  int64_t n_ = 0;
};

// Row-wise softmax; remembers its OUTPUT pointer (y must stay alive).
class Softmax {
 public:
  explicit Softmax(Backend* backend) : backend_(backend) {}
  void Forward(const float* x, float* y, int64_t rows, int64_t cols);
  void Backward(const float* dy, float* dx);

 private:
  Backend* backend_;
  const float* y_ = nullptr;
  int64_t rows_ = 0, cols_ = 0;
};

// Conv2d, stride 1, "same" padding, odd kernel: "name.weight"
// [cout, cin, k, k], "name.bias" [cout]; PyTorch default init
// U(-1/sqrt(cin*k*k), +). x [n, cin, h, w] -> y [n, cout, h, w].
class Conv2dSame {
 public:
  Conv2dSame(LayerContext ctx, const std::string& name, int64_t cin, int64_t cout,
             int64_t kernel = 3);
  void Initialize(Rng& rng);
  void Forward(const float* x, float* y, int64_t n, int64_t h, int64_t w);
  void Backward(const float* dy, float* dx);

 private:
  LayerContext ctx_;
  int64_t cin_, cout_, kernel_;
  int64_t w_ = -1, b_ = -1;
  const float* x_ = nullptr;
  int64_t n_ = 0, h_ = 0, width_ = 0;
};

// 2x2 max-pool, stride 2, floor mode. x [n, c, h, w] -> [n, c, h/2, w/2].
// Forward with `training` keeps each window's argmax for Backward (a byte
// per output); without it, Backward must not follow.
class MaxPool2x2 {
 public:
  explicit MaxPool2x2(Backend* backend) : backend_(backend) {}
  void Forward(const float* x, float* y, int64_t n, int64_t c, int64_t h, int64_t w, bool training);
  void Backward(const float* dy, float* dx);

 private:
  Backend* backend_;
  std::vector<uint8_t> argmax_;
  bool has_argmax_ = false;
  int64_t n_ = 0, c_ = 0, h_ = 0, w_ = 0;
};

// Flatten is a no-op on contiguous NCHW memory ([n, c, h, w] is already
// [n, c*h*w] in PyTorch's order); models pass the pointer on unchanged.

// Non-overlapping p x p patches, each flattened in (channel, row, column)
// order -- the order of torch.nn.functional.unfold and of a Conv2d weight
// [dim, c, p, p] reshaped to [dim, c*p*p] -- then a Linear to `dim`:
// "name.weight" [dim, c*p*p], "name.bias" [dim].
// images [n, c, h, w] -> tokens [n, (h/p)*(w/p), dim], patches row-major.
class PatchEmbedding {
 public:
  PatchEmbedding(LayerContext ctx, const std::string& name, int64_t channels, int64_t height,
                 int64_t width, int64_t patch, int64_t dim);
  void Initialize(Rng& rng);
  int64_t num_patches() const;
  void Forward(const float* images, float* tokens, int64_t n);
  // Patch embedding is the first layer: no image gradient is produced.
  void Backward(const float* dtokens);

 private:
  int64_t channels_, height_, width_, patch_, dim_;
  Linear linear_;
  std::vector<float> patches_;  // unfolded [n * num_patches, c*p*p]
};

// Prepends a learned class token ("class_token" [1, 1, dim], init 0) and
// adds learned positional embeddings ("pos_embedding" [1, tokens+1, dim],
// init N(0, 0.02^2)), as torchvision's VisionTransformer.
// x [n, tokens, dim] -> y [n, tokens + 1, dim].
class ClassTokenAndPosition {
 public:
  ClassTokenAndPosition(LayerContext ctx, int64_t tokens, int64_t dim);
  void Initialize(Rng& rng);
  void Forward(const float* x, float* y, int64_t n);
  void Backward(const float* dy, float* dx);

 private:
  LayerContext ctx_;
  int64_t tokens_, dim_;
  int64_t cls_ = -1, pos_ = -1;
  int64_t n_ = 0;
};

// The two variations of self-attention the paper studies.
struct AttentionOptions {
  int64_t heads = 4;
  // One matrix (and bias) for queries and keys, "name.qk.*": a symmetric
  // similarity x Wx^T... (the paper's "wkewq").
  bool shared_query_key = false;
  // No value and no output projection: values are the inputs themselves and
  // the concatenated head outputs are the layer's output ("wvwo").
  bool no_value_output = false;
};

// Multi-head scaled dot-product self-attention over x [n, tokens, dim]:
// per head h, A = softmax(Q_h K_h^T / sqrt(dim/heads)), out_h = A V_h;
// y = concat_h(out_h) W_o^T + b_o. Projections "name.q", "name.k",
// "name.v", "name.out" (each .weight [dim, dim], .bias [dim]), or
// "name.qk" when shared; none for v/out with no_value_output.
// The projections are backend operations (one GEMM for the packed input
// projections, one Linear for the output); the per-(sample, head) products
// and the softmax between them are shared kernels (kernels/attention.h).
class SelfAttention {
 public:
  SelfAttention(LayerContext ctx, const std::string& name, int64_t tokens, int64_t dim,
                AttentionOptions options);
  void Initialize(Rng& rng);
  // x [n, tokens, dim] -> y [n, tokens, dim]; with class_token_only y is
  // [n, dim], the output at each sample's first token (the class token)
  // alone: keys and values still come from every token, only the class
  // token's query is used (the ViT's last block, models/vit.h).
  // residual (not with class_token_only): y = attention(x) + residual,
  // the block's skip connection, added by the output projection's GEMM.
  void Forward(const float* x, float* y, int64_t n, bool class_token_only = false,
               const float* residual = nullptr);
  // dy is shaped as Forward's y; dx is [n, tokens, dim] either way.
  void Backward(const float* dy, float* dx);

 private:
  // How many projections read x (all but the output projection).
  int64_t InputProjections() const;
  // qkv_ = the packed input projections of x [rows, dim].
  void ProjectInputs(const float* x, int64_t rows);
  // Where each head's q, k and v start in qkv_ (v is x itself without a
  // value projection) and, for the backward pass, their gradients in a
  // d(qkv_) buffer (dv_of_x: the separate dV when V = x). Row strides ld
  // (of qkv_) and v_ld.
  struct Views {
    const float *q, *k, *v;
    int64_t ld, v_ld;
  };
  struct GradViews {
    float *dq, *dk, *dv;
  };
  Views InputViews() const;
  GradViews InputGradViews(float* dqkv, float* dv_of_x) const;
  // The packed projections' backward from d(qkv_) (and dV when V = x).
  void InputsBackward(const float* dqkv, const float* dv_of_x, float* dx);
  // The class-token paths (attention_class_query.cc); scratch: per_thread
  // floats for each OpenMP thread.
  void ClassQueryForward(float* y);
  void ClassQueryBackward(const float* grad_c, float* dqkv, float* dv_of_x, float* scratch,
                          int64_t per_thread);

  LayerContext ctx_;
  int64_t tokens_, dim_;
  AttentionOptions options_;
  std::vector<Linear> projections_;  // implementation's choice of order
  // Implementation caches: the input projections' outputs side by side
  // ([rows, (q|k|v) * dim]), probabilities, concatenated heads, backward
  // scratch, and the input projections' weights packed for one GEMM.
  std::vector<float> qkv_, probs_, context_, scratch_;
  std::vector<float> w_in_, b_in_, dw_in_, db_in_, pair_scratch_;
  const float* x_ = nullptr;
  int64_t n_ = 0;
  bool class_token_only_ = false;
};

}  // namespace twophase

#endif  // TWOPHASE_MODELS_LAYERS_H_
