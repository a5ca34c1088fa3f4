// The shared-kernel library (namespace kernels, folder kernels/, CMake target
// twophase_kernels): the numeric loops of ours that do not depend on the
// backend. Both backends (core/blas_backend.cc, core/onednn_*.cc) and the
// layers (models/) call them, whichever backend a model runs on. The model is
// Ceres' internal/ceres/small_blas.h: an explicit internal library of small
// kernels, not an interface.
//
// What belongs here: code that serves every backend the same way -- the
// fixed-order accumulations below, through which both backends add parameter
// gradients, the attention's per-(sample, head) products
// (kernels/attention.h), the vectorisable exponential (kernels/fast_math.h).
// What does not: an operation each backend computes its own way (GEMM,
// linear, LayerNorm, GELU, convolution, ...), which is a virtual Backend
// method (core/backend.h); the BLAS backend's own loops for those are
// core/blas_kernels.h.
//
// Rules for every kernel here: plain functions on raw float pointers; no
// Backend, no allocation, no exceptions; every output element is written by
// one thread in an order fixed by the sizes alone, so results are
// bit-identical run to run and do not depend on the thread count or on the
// buffers' addresses. The library depends on nothing else of ours.
#ifndef TWOPHASE_KERNELS_KERNELS_H_
#define TWOPHASE_KERNELS_KERNELS_H_

#include <cstdint>

namespace twophase {
namespace kernels {

// sum_{i < n} term(i) in double, with 8 interleaved partial sums (lane j
// takes i = j, j+8, j+16, ...) that are added up in a fixed order at the
// end. The result is the same on every run, but the 8 independent chains
// vectorise, where a single double accumulator would be bound by the
// latency of one addition per element (without -ffast-math the compiler
// may not reorder a sum itself).
template <typename Term>
inline double Sum8(int64_t n, Term term) {
  double acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += term(i + j);
  }
  for (int j = 0; i < n; ++i, ++j) acc[j] += term(i);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// dst[i] += src[i]: accumulating into parameter gradients from scratch, or
// a residual onto a product. One thread per element, so the result does
// not depend on the thread count.
void AddTo(float* dst, const float* src, int64_t n);

// sums[c] += sum_r x[r, c] for row-major x [rows, cols] (bias gradients),
// in double, in an order that depends on neither the thread count nor the
// buffer's address.
void AddColumnSums(const float* x, float* sums, int64_t rows, int64_t cols);

}  // namespace kernels
}  // namespace twophase

#endif  // TWOPHASE_KERNELS_KERNELS_H_
