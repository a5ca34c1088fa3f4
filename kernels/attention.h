// The per-(sample, head) work of SelfAttention (models/attention.cc), part of
// the shared-kernel library (kernels/kernels.h): [T, d] by
// [d, T] products fused with the row softmax or its backward, and [T, T] by
// [T, d] products, with T ~ 50-65 and d ~ 16-64, on strided views of the
// [rows, D] activation buffers. Single-threaded (the caller runs one
// (sample, head) pair per thread); every output element is computed in a
// fixed order that depends only on t and d, so results do not depend on
// thread count or address.
//
// Why not Eigen: at these sizes Eigen's GEMM spends most of its time packing
// its operands into panels; these loops instead keep a tile of the output in
// registers (d = 16: one AVX-512 vector per row) and apply the softmax to
// a few rows of scores while they are still in L1, so the [T, T] block is
// written once (forward) and read once (backward).
#ifndef TWOPHASE_KERNELS_ATTENTION_H_
#define TWOPHASE_KERNELS_ATTENTION_H_

#include <cstdint>

namespace twophase {
namespace kernels {

// Floats of per-thread scratch that ScoresSoftmax and ScoresSoftmaxBackward
// need for t tokens and head width d (a padded transpose and a few rows).
int64_t ScoresScratch(int64_t t, int64_t d);

// p = softmax_rows(scale * a b^T): p[i, j] = exp(s_ij - max_j s_ij) / sum_j
// with s_ij = scale * sum_c a[i, c] * b[j, c], for i, j < t and c < d. a and
// b are [t, d] with row strides lda and ldb, p is [t, t] contiguous. The
// exponential is ExpNonPositive's (kernels/fast_math.h), lane by lane.
void ScoresSoftmax(const float* a, int64_t lda, const float* b, int64_t ldb, float scale, int64_t t,
                   int64_t d, float* p, float* scratch);

// The softmax backward of the above, with dp = g v^T (g, v [t, d] with row
// strides ldg, ldv): ds[i, j] = scale * p[i, j] * (dp[i, j] - sum_k dp[i, k]
// * p[i, k]). p and ds are [t, t] contiguous and may not alias.
void ScoresSoftmaxBackward(const float* g, int64_t ldg, const float* v, int64_t ldv, const float* p,
                           float scale, int64_t t, int64_t d, float* ds, float* scratch);

// Prefetches rows [begin, begin + count) of a row-major [*, ld] buffer into
// L2 (for writing when `write`), one request per cache line. The attention's
// pair loops call it for the next sample's rows when they start a sample: a
// pair's q/k/v rows are one 64-byte line each (d = 16) at a stride of
// 3 * D floats, a pattern the hardware prefetchers barely follow, while a
// sample's rows for all heads are one contiguous block (the gain:
// bench/README.md, "Micro-batches", fourth session).
void PrefetchRows(const float* base, int64_t begin, int64_t count, int64_t ld, bool write);

// Floats of scratch RowDots needs for t rows of width d.
int64_t RowDotsScratch(int64_t t, int64_t d);

// out[j] = sum_c x[c] * b[j, c] for j < t and c < d (b [t, d] with row
// stride ldb): one row's dot products with every row of b, as the
// single-query attention needs them. Each out[j] rounds every product
// x[c] * b[j, c] to float and adds them to 0 in order c = 0, 1, ... (no
// fused multiply-add: the bits GCC gave the plain loop this replaced); the
// rows run 16 at a time on a transposed copy of b.
void RowDots(const float* x, const float* b, int64_t ldb, int64_t t, int64_t d, float* out,
             float* scratch);

// out[r, :] (=, or += when accumulate) sum_s A(r, s) * b[s, :] for r, s < t
// and d columns, where A(r, s) = a[r * a_row + s * a_col] (a [t, t] or its
// transpose), b is [t, d] with row stride ldb and out [t, d] with ldo.
void RowCombinations(const float* a, int64_t a_row, int64_t a_col, const float* b, int64_t ldb,
                     int64_t t, int64_t d, float* out, int64_t ldo, bool accumulate);

}  // namespace kernels
}  // namespace twophase

#endif  // TWOPHASE_KERNELS_ATTENTION_H_
