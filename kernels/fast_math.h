// Small branch-free math kernels that vectorise (part of the shared-kernel
// library, kernels/kernels.h), used by the layers and the BLAS backend.
#ifndef TWOPHASE_KERNELS_FAST_MATH_H_
#define TWOPHASE_KERNELS_FAST_MATH_H_

#include <algorithm>
#include <bit>
#include <cstdint>

namespace twophase {
namespace kernels {

// exp(x) for x <= 0 (softmax arguments after subtracting the row maximum,
// the Gaussian density's -v^2/2), branch-free so that a loop over it
// vectorises: x = n ln2 + r with n = round(x / ln2) (by adding 1.5 * 2^23),
// |r| <= ln2 / 2 (ln2 split in two for an exact n ln2); exp(r) by Cephes'
// expf polynomial (relative error about 1 ulp, at most 1.41 ulp over
// [-87, 0]); 2^n by building the exponent bits. Below -87 (where 2^n would
// leave the normal range) the result is 0, which is what float arithmetic
// gets there anyway to within 1e-38.
//
// ExpReduced is the part shared with the vector version in
// kernels/attention.cc: for xc in [-87, 0] it returns y and sets *n
// with exp(xc) = y * 2^n. T is float or a GCC vector of floats, so both run
// the same operations in the same order.
template <typename T>
inline T ExpReduced(T xc, T* n_out) {
  const float kLog2e = 1.44269504088896341f;
  const float kRound = 12582912.0f;  // 1.5 * 2^23
  const float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  const T n = (xc * kLog2e + kRound) - kRound;  // round to nearest
  const T r = (xc - n * kLn2Hi) - n * kLn2Lo;
  T y = T{} + 1.9875691500e-4f;  // (T{} + c broadcasts c into a vector)
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * (r * r) + r + 1.0f;
  *n_out = n;
  return y;
}

inline float ExpNonPositive(float x) {
  float n;
  const float y = ExpReduced(std::max(x, -87.0f), &n);
  const float scale = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return x < -87.0f ? 0.0f : y * scale;
}

}  // namespace kernels
}  // namespace twophase

#endif  // TWOPHASE_KERNELS_FAST_MATH_H_
