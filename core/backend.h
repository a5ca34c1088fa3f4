// The compute backend: every numeric kernel a layer needs, behind one
// interface, so that the same model runs on OpenBLAS-based kernels ("blas")
// or on oneDNN primitives ("onednn") and the two can be checked against each
// other op by op.
//
// Backend operations and shared kernels. The virtual methods below are the
// backend operations: each backend computes them its own way (BLAS: OpenBLAS's
// sgemm and our loops in core/blas_kernels.h; oneDNN: its primitives), so
// their last bits may differ from backend to backend, and
// backend_consistency_test.cc checks every one against the BLAS backend's.
// What is computed the same way on every backend is not an operation here but
// a shared kernel (kernels/kernels.h, namespace kernels), called by both
// backends (parameter-gradient accumulation, bias column sums) and by the
// layers directly (the attention's per-(sample, head) products and fused
// softmax, residual and gradient additions). An op belongs in this interface
// when a backend library offers an implementation of its own (oneDNN's
// primitives); otherwise it is a shared kernel.
//
// Conventions for every op:
//  - Row-major, float32, NCHW for images (PyTorch's layout).
//  - Forward ops overwrite their outputs.
//  - Backward ops overwrite input gradients (dx) and ACCUMULATE (+=) into
//    parameter gradients (dw, db, dgamma, dbeta), so that a parameter used
//    twice, or a gradient summed over chunks, needs no extra buffer.
//  - A null dx means "not needed" (e.g. for the first layer).
//  - No exceptions and no allocation in the inner loops; results are
//    bit-identical for the same inputs and thread count.
#ifndef TWOPHASE_CORE_BACKEND_H_
#define TWOPHASE_CORE_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace twophase {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;

  // C[m, n] = alpha * op(A) * op(B) + beta * C, row-major, where op(A) is
  // [m, k] (A is [k, m] when trans_a) and op(B) is [k, n] (B is [n, k] when
  // trans_b).
  virtual void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                    int64_t ldc) = 0;

  // y[rows, out] = x[rows, in] * w[out, in]^T + b[out]   (b may be null)
  virtual void LinearForward(const float* x, const float* w, const float* b, float* y, int64_t rows,
                             int64_t in, int64_t out) = 0;
  // The same plus a residual r[rows, out] (a skip connection): exactly
  // LinearForward followed by y[i] = r[i] + y[i], in one pass where the
  // backend can (r must not alias y).
  virtual void LinearForwardResidual(const float* x, const float* w, const float* b, const float* r,
                                     float* y, int64_t rows, int64_t in, int64_t out) = 0;
  // dx = dy * w;  dw += dy^T * x;  db += column sums of dy.
  virtual void LinearBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                              float* db, int64_t rows, int64_t in, int64_t out) = 0;

  // Per row: y = (x - mean) * rstd * gamma + beta, rstd = 1/sqrt(var + eps),
  // biased variance (PyTorch's LayerNorm). mean and rstd ([rows]) are saved
  // for the backward pass.
  virtual void LayerNormForward(const float* x, const float* gamma, const float* beta, float* y,
                                float* mean, float* rstd, int64_t rows, int64_t dim, float eps) = 0;
  virtual void LayerNormBackward(const float* x, const float* gamma, const float* mean,
                                 const float* rstd, const float* dy, float* dx, float* dgamma,
                                 float* dbeta, int64_t rows, int64_t dim) = 0;

  // Exact GELU: y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).
  virtual void GeluForward(const float* x, float* y, int64_t n) = 0;
  virtual void GeluBackward(const float* x, const float* dy, float* dx, int64_t n) = 0;
  virtual void ReluForward(const float* x, float* y, int64_t n) = 0;
  // Gradient 0 at x == 0 (PyTorch's convention).
  virtual void ReluBackward(const float* x, const float* dy, float* dx, int64_t n) = 0;

  // Row-wise softmax over the last dimension (max-subtracted).
  virtual void SoftmaxForward(const float* x, float* y, int64_t rows, int64_t cols) = 0;
  // dx = y * (dy - sum(dy * y)) per row.
  virtual void SoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows,
                               int64_t cols) = 0;

  // 2-D convolution, stride 1, "same" zero padding (kernel odd, pad =
  // kernel / 2): x [n, cin, h, w], w [cout, cin, k, k], b [cout] -> y
  // [n, cout, h, w].
  virtual void ConvSameForward(const float* x, const float* w, const float* b, float* y, int64_t n,
                               int64_t cin, int64_t h, int64_t width, int64_t cout,
                               int64_t kernel) = 0;
  virtual void ConvSameBackward(const float* x, const float* w, const float* dy, float* dx,
                                float* dw, float* db, int64_t n, int64_t cin, int64_t h,
                                int64_t width, int64_t cout, int64_t kernel) = 0;

  // 2x2 max-pool, stride 2, floor mode: x [n, c, h, w] -> y [n, c, h/2, w/2].
  // Ties go to the first element in row-major window order (PyTorch's).
  // argmax ([n, c, h/2, w/2] bytes, or null when no backward pass follows)
  // receives which element of each window is its maximum, as the index
  // 2 * row + column within the window (0..3), so that the backward pass
  // need not search the windows again (oneDNN's "workspace").
  virtual void MaxPool2x2Forward(const float* x, float* y, uint8_t* argmax, int64_t n, int64_t c,
                                 int64_t h, int64_t width) = 0;
  // dx (overwritten, [n, c, h, w]) gets dy at each window's maximum as the
  // forward pass recorded it in argmax, 0 elsewhere (also in a last row or
  // column that no window covers).
  virtual void MaxPool2x2Backward(const uint8_t* argmax, const float* dy, float* dx, int64_t n,
                                  int64_t c, int64_t h, int64_t width) = 0;
};

// The OpenBLAS backend: sgemm from OpenBLAS, everything else OpenMP loops.
std::unique_ptr<Backend> MakeBlasBackend();

// Backends by name ("blas", "onednn"; core/backend.cc). Returns null and
// sets *error for an unknown name. MakeOnednnBackend is in
// core/onednn_backend.h.
std::unique_ptr<Backend> MakeBackend(std::string_view name, std::string* error);
std::vector<std::string> BackendNames();

}  // namespace twophase

#endif  // TWOPHASE_CORE_BACKEND_H_
