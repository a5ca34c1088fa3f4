// Internals of the oneDNN backend (core/onednn_backend.h has the public
// part), shared by onednn_backend.cc (GEMM, linear, layer norm, eltwise,
// softmax) and onednn_conv.cc (convolution, max-pool).
//
// Every op looks up a cached entry -- its primitives, the memory objects
// bound to them and any scratch -- by op and shape (creating a primitive
// costs far more than running a small one), points the memory objects at
// the caller's buffers and executes. After the first call of a shape nothing
// is allocated. Ops cannot report errors, so a dnnl::error (an unsupported
// shape, out of memory) ends the program with a message naming the op.
#ifndef TWOPHASE_CORE_ONEDNN_INTERNAL_H_
#define TWOPHASE_CORE_ONEDNN_INTERNAL_H_

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/backend.h"

namespace twophase {
namespace onednn {

using Args = std::unordered_map<int, dnnl::memory>;
using Dims = dnnl::memory::dims;
using Tag = dnnl::memory::format_tag;
constexpr auto kF32 = dnnl::memory::data_type::f32;

enum class Op : int32_t {
  kMatmul,
  kLayerNormForward,
  kLayerNormBackward,
  kEltwiseForward,
  kEltwiseBackward,
  kSoftmaxForward,
  kSoftmaxBackward,
  kConvForward,
  kConvBackward,
  kPoolForward,
  kPoolBackward,
};

// An op and its shape. The OpenMP thread count is part of it because some
// implementations fix their work split when the primitive is created.
struct Key {
  Op op;
  int32_t threads;
  std::array<int64_t, 10> dims;
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  size_t operator()(const Key& key) const {
    uint64_t h = static_cast<uint64_t>(key.op) * 0x9E3779B97F4A7C15ull + key.threads;
    for (int64_t d : key.dims) h = (h ^ static_cast<uint64_t>(d)) * 0x100000001B3ull;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

// A cached, ready-to-run op.
struct Cached {
  virtual ~Cached() = default;
};

// Runs f; any exception (dnnl::error, std::bad_alloc) ends the program with
// a message naming the op, since Backend ops must not throw.
template <typename F>
void Guarded(const char* op, F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oneDNN backend: %s failed: %s\n", op, e.what());
    std::abort();
  }
}

// The attributes of every primitive: strict fp32 math, so that no
// environment variable (ONEDNN_DEFAULT_FPMATH_MODE) can let oneDNN
// downconvert to bf16 on machines with AMX.
inline dnnl::primitive_attr Attr() {
  dnnl::primitive_attr attr;
  attr.set_fpmath_mode(dnnl::fpmath_mode::strict);
  return attr;
}

inline dnnl::memory::desc Plain(const Dims& dims, Tag tag) { return {dims, kF32, tag}; }

// A tensor argument in the caller's plain layout (row-major / NCHW) and in
// the layout the primitive chose; when they differ, a reorder between them
// (into the primitive's layout for an input, out of it for an output).
class Tensor {
 public:
  Tensor() = default;
  Tensor(const dnnl::engine& engine, const dnnl::memory::desc& user,
         const dnnl::memory::desc& internal, bool input)
      : user_(user, engine, DNNL_MEMORY_NONE) {
    if (user == internal) {
      internal_ = user_;
      return;
    }
    internal_ = dnnl::memory(internal, engine);  // owns its buffer
    reorder_ = input ? dnnl::reorder(user_, internal_) : dnnl::reorder(internal_, user_);
    reorder_args_ = {{DNNL_ARG_FROM, input ? user_ : internal_},
                     {DNNL_ARG_TO, input ? internal_ : user_}};
    needs_reorder_ = true;
  }

  // The memory the primitive reads or writes.
  const dnnl::memory& mem() const { return internal_; }
  bool needs_reorder() const { return needs_reorder_; }

  // Input: points at p and converts it to the primitive's layout.
  void Read(dnnl::stream& stream, const float* p) {
    user_.set_data_handle(const_cast<float*>(p));
    if (needs_reorder_) reorder_.execute(stream, reorder_args_);
  }
  // Output: points at p; Write() after the primitive converts back.
  void Bind(float* p) { user_.set_data_handle(p); }
  void Write(dnnl::stream& stream) {
    if (needs_reorder_) reorder_.execute(stream, reorder_args_);
  }

 private:
  dnnl::memory user_, internal_;
  dnnl::reorder reorder_;
  Args reorder_args_;
  bool needs_reorder_ = false;
};

// Wraps a caller's buffer (set with set_data_handle before each use).
inline dnnl::memory Wrap(const dnnl::engine& engine, const dnnl::memory::desc& md) {
  return dnnl::memory(md, engine, DNNL_MEMORY_NONE);
}

}  // namespace onednn

class OnednnBackend final : public Backend {
 public:
  OnednnBackend();
  std::string_view name() const override { return "onednn"; }

  void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
            const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
            int64_t ldc) override;
  void LinearForward(const float* x, const float* w, const float* b, float* y, int64_t rows,
                     int64_t in, int64_t out) override;
  void LinearForwardResidual(const float* x, const float* w, const float* b, const float* r,
                             float* y, int64_t rows, int64_t in, int64_t out) override;
  void LinearBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                      float* db, int64_t rows, int64_t in, int64_t out) override;
  void LayerNormForward(const float* x, const float* gamma, const float* beta, float* y,
                        float* mean, float* rstd, int64_t rows, int64_t dim, float eps) override;
  void LayerNormBackward(const float* x, const float* gamma, const float* mean, const float* rstd,
                         const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows,
                         int64_t dim) override;
  void GeluForward(const float* x, float* y, int64_t n) override;
  void GeluBackward(const float* x, const float* dy, float* dx, int64_t n) override;
  void ReluForward(const float* x, float* y, int64_t n) override;
  void ReluBackward(const float* x, const float* dy, float* dx, int64_t n) override;
  void SoftmaxForward(const float* x, float* y, int64_t rows, int64_t cols) override;
  void SoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows,
                       int64_t cols) override;
  // onednn_conv.cc:
  void ConvSameForward(const float* x, const float* w, const float* b, float* y, int64_t n,
                       int64_t cin, int64_t h, int64_t width, int64_t cout,
                       int64_t kernel) override;
  void ConvSameBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                        float* db, int64_t n, int64_t cin, int64_t h, int64_t width, int64_t cout,
                        int64_t kernel) override;
  void MaxPool2x2Forward(const float* x, float* y, uint8_t* argmax, int64_t n, int64_t c, int64_t h,
                         int64_t width) override;
  void MaxPool2x2Backward(const uint8_t* argmax, const float* dy, float* dx, int64_t n, int64_t c,
                          int64_t h, int64_t width) override;

 private:
  // The cached entry for op and dims, made by make() (returning a
  // std::unique_ptr<T>) on first use.
  template <typename T, typename Make>
  T& Get(onednn::Op op, const std::array<int64_t, 10>& dims, Make&& make);

  // A matmul on strided views (onednn_backend.cc has the details).
  struct MatmulShape {
    int64_t m, n, k;
    int64_t a_rows, a_cols;  // strides of A [m, k]
    int64_t b_rows, b_cols;  // strides of B [k, n]
    int64_t ldc;
    float alpha, beta;
    // B is a layer's weights (small, read by every row block): reorder it
    // into the layout the primitive prefers before each call.
    bool pack_b = false;
  };
  // residual (optional, [m, n] with row stride ldc) is added to the result
  // by a binary post-op.
  void Matmul(const MatmulShape& shape, const float* a, const float* b, const float* bias, float* c,
              const float* residual = nullptr);
  void EltwiseForward(dnnl::algorithm algorithm, const char* what, const float* x, float* y,
                      int64_t n);
  void EltwiseBackward(dnnl::algorithm algorithm, const char* what, const float* x, const float* dy,
                       float* dx, int64_t n);

  dnnl::engine engine_;
  dnnl::stream stream_;
  std::vector<float> dw_transposed_;  // LinearBackward's scratch
  std::unordered_map<onednn::Key, std::unique_ptr<onednn::Cached>, onednn::KeyHash> cache_;
};

int32_t OnednnThreads();

template <typename T, typename Make>
T& OnednnBackend::Get(onednn::Op op, const std::array<int64_t, 10>& dims, Make&& make) {
  const onednn::Key key{op, OnednnThreads(), dims};
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    // Shapes are few in training (one per layer, plus a last partial
    // batch); the bound only keeps a caller that sweeps shapes from growing
    // the cache without limit.
    constexpr size_t kMaxEntries = 512;
    if (cache_.size() >= kMaxEntries) cache_.clear();
    it = cache_.emplace(key, std::forward<Make>(make)()).first;
  }
  return static_cast<T&>(*it->second);
}

}  // namespace twophase

#endif  // TWOPHASE_CORE_ONEDNN_INTERNAL_H_
