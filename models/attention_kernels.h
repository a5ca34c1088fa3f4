// The per-(sample, head) products of SelfAttention (attention.cc): [T, d]
// by [d, T] and [T, T] by [T, d] with T ~ 50-65 and d ~ 16-64, on strided
// views of the [rows, D] activation buffers. Single-threaded (the caller
// runs one (sample, head) pair per thread); every output element is summed
// in a fixed order, so results do not depend on thread count or address.
//
// Why not Eigen: at these sizes Eigen's GEMM spends most of its time packing
// its operands into panels; these loops instead keep the d-wide output row
// in registers (d = 16: one AVX-512 vector).
#ifndef TWOPHASE_MODELS_ATTENTION_KERNELS_H_
#define TWOPHASE_MODELS_ATTENTION_KERNELS_H_

#include <cstdint>

namespace twophase {
namespace attention_kernels {

// out[i, j] = sum_c (scale * a[i, c]) * b[j, c] for i, j < t, c < d:
// a and b are [t, d] with row strides lda and ldb, out is [t, t]
// contiguous. bt is scratch of ABtScratch(t, d) floats (b transposed).
void ScaledABt(const float* a, int64_t lda, const float* b, int64_t ldb, float scale, int64_t t,
               int64_t d, float* out, float* bt);

inline int64_t ABtScratch(int64_t t, int64_t d) { return d * ((t + 15) / 16 * 16); }

// out[r, :] (=, or += when accumulate) sum_s A(r, s) * b[s, :] for r, s < t
// and d columns, where A(r, s) = a[r * a_row + s * a_col] (a [t, t] or its
// transpose), b is [t, d] with row stride ldb and out [t, d] with ldo.
void RowCombinations(const float* a, int64_t a_row, int64_t a_col, const float* b, int64_t ldb,
                     int64_t t, int64_t d, float* out, int64_t ldo, bool accumulate);

}  // namespace attention_kernels
}  // namespace twophase

#endif  // TWOPHASE_MODELS_ATTENTION_KERNELS_H_
