#include "optimizers/objective.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace twophase {

// Blocks of 4096 are summed by one thread each, and the block sums added in
// order: the same result for every run with the same thread count -- in
// fact for every thread count, as the blocking does not depend on it.
double Dot(const float* a, const float* b, int64_t n) {
  constexpr int64_t kBlock = 4096;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(blocks);
#pragma omp parallel for schedule(static) if (blocks > 4)
  for (int64_t k = 0; k < blocks; ++k) {
    const int64_t end = std::min(n, (k + 1) * kBlock);
    double s = 0.0;
    for (int64_t i = k * kBlock; i < end; ++i) s += static_cast<double>(a[i]) * b[i];
    partial[k] = s;
  }
  double s = 0.0;
  for (double p : partial) s += p;
  return s;
}

double Norm(const float* a, int64_t n) { return std::sqrt(Dot(a, a, n)); }

void AxpyInto(const float* x, double alpha, const float* d, float* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i] + alpha * d[i]);
}

}  // namespace twophase
