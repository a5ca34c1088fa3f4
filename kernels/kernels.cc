#include "kernels/kernels.h"

#include <algorithm>

namespace twophase {
namespace kernels {

void AddTo(float* dst, const float* src, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= (int64_t{1} << 15))
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

void AddColumnSums(const float* x, float* sums, int64_t rows, int64_t cols) {
  // The rows in kChunks fixed ranges, each summed row by row into its own
  // double partial sums (streaming through x), the partials then added in
  // chunk order: deterministic for any thread count. Summing each column
  // (or block of 16 columns) down the rows instead walks x with a stride of
  // a row, which the prefetchers do not cover: on vit-mlp the per-column
  // loop was 26 % of the BLAS backend's CPU time, 16-column blocks still
  // took 2.2x this version's (perf samples).
  constexpr int64_t kChunks = 8, kTile = 512;
  for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
    const int64_t width = std::min(kTile, cols - c0);
    double partial[kChunks][kTile];
#pragma omp parallel for schedule(static) if (rows * width >= (int64_t{1} << 15))
    for (int64_t k = 0; k < kChunks; ++k) {
      double* acc = partial[k];
      std::fill(acc, acc + width, 0.0);
      for (int64_t r = rows * k / kChunks; r < rows * (k + 1) / kChunks; ++r) {
        const float* xr = x + r * cols + c0;
        for (int64_t j = 0; j < width; ++j) acc[j] += xr[j];
      }
    }
    for (int64_t j = 0; j < width; ++j) {
      double sum = partial[0][j];
      for (int64_t k = 1; k < kChunks; ++k) sum += partial[k][j];
      sums[c0 + j] += static_cast<float>(sum);
    }
  }
}

}  // namespace kernels
}  // namespace twophase
