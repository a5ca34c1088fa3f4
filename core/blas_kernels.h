// The BLAS backend's own non-GEMM kernels as free functions (the BlasBackend
// class in blas_backend.cc owns the buffers and the GEMM calls): its
// implementations of Backend ops that the oneDNN backend computes with its
// own primitives. Kernels both backends share are in kernels/kernels.h.
// Each op kernel is an OpenMP loop with schedule(static) in which every
// output element is written by one thread in a fixed order, so results are
// bit-identical from run to run; they do not even depend on the thread
// count. Semantics are those of the matching Backend op (core/backend.h).
// Im2Col and Col2Im are single-threaded: each convolution thread calls them
// on its own images.
#ifndef TWOPHASE_CORE_BLAS_KERNELS_H_
#define TWOPHASE_CORE_BLAS_KERNELS_H_

#include <cstdint>

namespace twophase {
namespace blas_kernels {

void LayerNormForward(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                      float* rstd, int64_t rows, int64_t dim, float eps);
void LayerNormBackward(const float* x, const float* gamma, const float* mean, const float* rstd,
                       const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows,
                       int64_t dim);

void GeluForward(const float* x, float* y, int64_t n);
void GeluBackward(const float* x, const float* dy, float* dx, int64_t n);
void ReluForward(const float* x, float* y, int64_t n);
void ReluBackward(const float* x, const float* dy, float* dx, int64_t n);

// argmax as in Backend::MaxPool2x2Forward (may be null).
void MaxPool2x2Forward(const float* x, float* y, uint8_t* argmax, int64_t n, int64_t c, int64_t h,
                       int64_t width);
void MaxPool2x2Backward(const uint8_t* argmax, const float* dy, float* dx, int64_t n, int64_t c,
                        int64_t h, int64_t width);

// im2col for a stride-1 "same" convolution (pad = kernel / 2) of m images
// x [m, cin, h, w]: col is [cin*k*k, m*h*w] with row (c, ki, kj) and column
// (image, output pixel):
//   col[(c*k + ki)*k + kj, i*h*w + y*w + x] = x[i, c, y + ki - pad, x + kj - pad]
// (0 outside the image). Then W[cout, cin*k*k] * col is the convolution of
// all m images in one GEMM.
void Im2Col(const float* x, int64_t m, int64_t cin, int64_t h, int64_t width, int64_t kernel,
            float* col);
// The adjoint of Im2Col: dx[i, c, y, x] (overwritten) = the sum of every col
// entry that Im2Col copied from x[i, c, y, x], added in (ki, kj) order.
// col is scratch: its entries that Im2Col would have taken from the zero
// padding are set to 0.
void Col2Im(float* col, int64_t m, int64_t cin, int64_t h, int64_t width, int64_t kernel,
            float* dx);

}  // namespace blas_kernels
}  // namespace twophase

#endif  // TWOPHASE_CORE_BLAS_KERNELS_H_
