// Tests of the shared accumulation kernels (kernels/kernels.h) against
// double-precision references, at shapes that take every path: several
// 512-column tiles with a partial last one, fewer rows than AddColumnSums'
// eight chunks, and sizes above and below the threshold of the OpenMP loops;
// plus the claim both backends rely on, that the bits do not depend on the
// thread count.
#include "kernels/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/gradient_check.h"
#include "core/test_seed.h"
#include "core/threads.h"

namespace twophase {
namespace kernels {
namespace {

struct Shape {
  int64_t rows, cols;
};
const Shape kShapes[] = {{1000, 1100}, {3, 700}, {1, 1}, {64, 512}, {7, 1025}};

std::string Name(const Shape& s) { return std::to_string(s.rows) + " x " + std::to_string(s.cols); }

TEST(KernelsTest, AddColumnSumsAddsEachColumnsSum) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  for (const Shape& shape : kShapes) {
    SCOPED_TRACE(Name(shape));
    const std::vector<float> x = RandomVector(shape.rows * shape.cols, seed + 1);
    const std::vector<float> before = RandomVector(shape.cols, seed + 2);
    std::vector<float> sums = before;
    AddColumnSums(x.data(), sums.data(), shape.rows, shape.cols);
    for (int64_t c = 0; c < shape.cols; ++c) {
      double ref = 0.0, mag = std::fabs(before[c]);
      for (int64_t r = 0; r < shape.rows; ++r) {
        ref += x[r * shape.cols + c];
        mag += std::fabs(x[r * shape.cols + c]);
      }
      // The sum is taken in double and rounded to float twice (the sum, then
      // the addition to what was there).
      ASSERT_NEAR(sums[c], before[c] + ref, 2e-7 * mag + 1e-30) << "column " << c;
    }
  }
}

TEST(KernelsTest, AddToAddsElementwise) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  for (const int64_t n : {int64_t{1}, int64_t{1000}, (int64_t{1} << 16) + 3}) {
    SCOPED_TRACE("n " + std::to_string(n));
    const std::vector<float> src = RandomVector(n, seed + 3), before = RandomVector(n, seed + 4);
    std::vector<float> dst = before;
    AddTo(dst.data(), src.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(dst[i], before[i] + src[i]) << "at " << i;
  }
}

TEST(KernelsTest, ResultsDoNotDependOnThreadCount) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  const Shape shape = kShapes[0];
  const std::vector<float> x = RandomVector(shape.rows * shape.cols, seed + 5);
  std::vector<float> sums[2], added[2];
  for (int run = 0; run < 2; ++run) {
    const ScopedThreads thread_count(run == 0 ? 1 : 3);
    sums[run] = RandomVector(shape.cols, seed + 6);
    AddColumnSums(x.data(), sums[run].data(), shape.rows, shape.cols);
    added[run] = RandomVector(x.size(), seed + 7);
    AddTo(added[run].data(), x.data(), static_cast<int64_t>(x.size()));
  }
  EXPECT_EQ(sums[0], sums[1]);
  EXPECT_EQ(added[0], added[1]);
}

}  // namespace
}  // namespace kernels
}  // namespace twophase
