// Shared helpers of the backend tests (blas_backend_test.cc, blas_conv_test.cc,
// onednn_backend_test.cc, backend_consistency_test.cc, backend_model_test.cc):
// the seed, reference tensors with error magnitudes, bit-for-bit comparison.
#ifndef TWOPHASE_CORE_BACKEND_TEST_UTIL_H_
#define TWOPHASE_CORE_BACKEND_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/test_seed.h"

namespace twophase {
namespace backend_test {

// A reference tensor: exact values and the magnitude each one's error
// scales with.
struct Ref {
  explicit Ref(size_t n) : val(n, 0.0), mag(n, 0.0) {}
  std::vector<double> val, mag;
  // Magnitude = max |val| everywhere (for the nonlinear ops, whose error is
  // better bounded normwise).
  void NormwiseMagnitude() {
    double mx = 0.0;
    for (double v : val) mx = std::max(mx, std::fabs(v));
    std::fill(mag.begin(), mag.end(), mx);
  }
};

inline void ExpectClose(const std::vector<float>& got, const Ref& ref, double rtol, double atol,
                        const std::string& what) {
  ASSERT_EQ(got.size(), ref.val.size()) << what;
  int64_t bad = 0;
  std::string first;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(got[i] - ref.val[i]);
    if (!(err <= rtol * ref.mag[i] + atol)) {
      if (bad++ < 3) {
        first += "\n  [" + std::to_string(i) + "] got " + std::to_string(got[i]) + ", want " +
                 std::to_string(ref.val[i]) + " (magnitude " + std::to_string(ref.mag[i]) + ")";
      }
    }
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << got.size() << " outside tolerance" << first;
}

// Same size and the same bits (NaNs included): what a rerun must give. Empty
// vectors may hold null data(), and memcmp on a null pointer is undefined even
// for zero bytes (UBSan's nonnull-attribute check), hence the empty() test.
inline bool BitIdentical(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0);
}

// Failure lines, one per line, indented under a test's message.
inline std::string Join(const std::vector<std::string>& lines) {
  std::string s;
  for (const std::string& l : lines) s += "\n  " + l;
  return s;
}

}  // namespace backend_test
}  // namespace twophase

#endif  // TWOPHASE_CORE_BACKEND_TEST_UTIL_H_
