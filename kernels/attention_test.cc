// Tests of the per-(sample, head) kernels of SelfAttention against naive
// double-precision references, at the ViT's shapes (t = 50 and 65 tokens,
// head width 16) and at shapes that take the other code paths (t a
// multiple of 16 or not, t > 80, d not a multiple of 16), plus the claim
// that the results do not depend on where the buffers lie. The layer tests
// (attention_test.cc) use head widths below 16, which RowCombinations
// handles with plain loops.
//
// Tolerances are relative to the sum of the absolute values of the terms
// that make up each output (float accumulation of up to ~100 terms rounds
// by about 100 * 2^-24 = 6e-6 of that sum), so they hold for any inputs.
#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/gradient_check.h"
#include "core/test_seed.h"

namespace twophase {
namespace kernels {
namespace {

struct Shape {
  int64_t t, d;
};
const Shape kShapes[] = {{50, 16}, {65, 16},  {1, 16}, {16, 16}, {17, 16},
                         {81, 16}, {100, 32}, {7, 64}, {5, 8},   {33, 24}};

std::string Name(const Shape& s) {
  return "t " + std::to_string(s.t) + " d " + std::to_string(s.d);
}

// A [t, d] block with row stride ld (extra columns hold other values, as in
// the layer's [rows, D] buffers).
std::vector<float> Block(int64_t t, int64_t ld, uint64_t seed, float range) {
  return RandomVector(t * ld, seed, -range, range);
}

// Row-stochastic [t, t] probabilities with a wide range of values.
std::vector<float> Probabilities(int64_t t, uint64_t seed) {
  std::vector<float> p = RandomVector(t * t, seed, -4.0f, 4.0f);
  for (int64_t i = 0; i < t; ++i) {
    double sum = 0.0;
    for (int64_t j = 0; j < t; ++j) sum += (p[i * t + j] = std::exp(p[i * t + j]));
    for (int64_t j = 0; j < t; ++j) p[i * t + j] = static_cast<float>(p[i * t + j] / sum);
  }
  return p;
}

TEST(AttentionKernelsTest, ScoresSoftmaxMatchesReference) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  for (const Shape& shape : kShapes) {
    SCOPED_TRACE(Name(shape));
    const int64_t t = shape.t, d = shape.d, lda = d + 5, ldb = 3 * d;
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    // Values up to 3 make rows far from uniform (scores up to ~9 sqrt(d)).
    const std::vector<float> a = Block(t, lda, seed + 1, 3.0f), b = Block(t, ldb, seed + 2, 3.0f);
    std::vector<float> p(t * t), scratch(ScoresScratch(t, d));
    ScoresSoftmax(a.data(), lda, b.data(), ldb, scale, t, d, p.data(), scratch.data());
    std::vector<double> s(t), mag(t);
    for (int64_t i = 0; i < t; ++i) {
      double mx = -1e300, sum = 0.0, mag_max = 0.0;
      for (int64_t j = 0; j < t; ++j) {
        s[j] = mag[j] = 0.0;
        for (int64_t c = 0; c < d; ++c) {
          s[j] += double(a[i * lda + c]) * b[j * ldb + c] * scale;
          mag[j] += std::fabs(double(a[i * lda + c]) * b[j * ldb + c] * scale);
        }
        mx = std::max(mx, s[j]);
        mag_max = std::max(mag_max, mag[j]);
      }
      for (int64_t j = 0; j < t; ++j) sum += std::exp(s[j] - mx);
      for (int64_t j = 0; j < t; ++j) {
        const double ref = std::exp(s[j] - mx) / sum;
        // p = exp(s_j - max) / sum: the scores' rounding (of s_j and of
        // the maximum) enters the exponent, the exponential and the
        // normalisation add a few ulp.
        const double tol = ref * (1e-5 + 1e-6 * (mag[j] + mag_max)) + 1e-30;
        ASSERT_NEAR(p[i * t + j], ref, tol) << "at " << i << ", " << j;
      }
    }
  }
}

TEST(AttentionKernelsTest, ScoresSoftmaxBackwardMatchesReference) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  for (const Shape& shape : kShapes) {
    SCOPED_TRACE(Name(shape));
    const int64_t t = shape.t, d = shape.d, ldg = d + 3, ldv = 2 * d + 1;
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    const std::vector<float> g = Block(t, ldg, seed + 3, 1.0f), v = Block(t, ldv, seed + 4, 1.0f);
    const std::vector<float> p = Probabilities(t, seed + 5);
    std::vector<float> ds(t * t), scratch(ScoresScratch(t, d));
    ScoresSoftmaxBackward(g.data(), ldg, v.data(), ldv, p.data(), scale, t, d, ds.data(),
                          scratch.data());
    std::vector<double> dp(t), dp_mag(t);
    for (int64_t i = 0; i < t; ++i) {
      double dot = 0.0, dot_mag = 0.0;
      for (int64_t j = 0; j < t; ++j) {
        dp[j] = dp_mag[j] = 0.0;
        for (int64_t c = 0; c < d; ++c) {
          dp[j] += double(g[i * ldg + c]) * v[j * ldv + c];
          dp_mag[j] += std::fabs(double(g[i * ldg + c]) * v[j * ldv + c]);
        }
        dot += dp[j] * p[i * t + j];
        dot_mag += dp_mag[j] * p[i * t + j];
      }
      for (int64_t j = 0; j < t; ++j) {
        const double pij = p[i * t + j];
        const double ref = scale * pij * (dp[j] - dot);
        const double tol = 1e-5 * scale * pij * (dp_mag[j] + dot_mag) + 1e-30;
        ASSERT_NEAR(ds[i * t + j], ref, tol) << "at " << i << ", " << j;
      }
    }
  }
}

// RowDots promises exact bits: each product rounded, then summed in order.
TEST(AttentionKernelsTest, RowDotsAreRoundedProductsSummedInOrder) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  for (const Shape& shape : kShapes) {
    SCOPED_TRACE(Name(shape));
    const int64_t t = shape.t, d = shape.d, ldb = 3 * d + 1;
    const std::vector<float> x = Block(1, d, seed, 1.0f);
    const std::vector<float> b = Block(t, ldb, seed + 1, 1.0f);
    std::vector<float> out(t + 1, -7.0f), scratch(RowDotsScratch(t, d));
    RowDots(x.data(), b.data(), ldb, t, d, out.data(), scratch.data());
    for (int64_t j = 0; j < t; ++j) {
      float dot = 0.0f;
      for (int64_t c = 0; c < d; ++c) {
        volatile float product = x[c] * b[j * ldb + c];  // rounded, not fused
        dot += product;
      }
      ASSERT_EQ(std::memcmp(&dot, &out[j], sizeof(float)), 0)
          << "j " << j << ": " << dot << " vs " << out[j];
    }
    EXPECT_EQ(out[t], -7.0f) << "wrote past t";
  }
}

TEST(AttentionKernelsTest, RowCombinationsMatchReference) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  for (const Shape& shape : kShapes) {
    const int64_t t = shape.t, d = shape.d, ldb = d + 7, ldo = 2 * d;
    const std::vector<float> a = RandomVector(t * t, seed + 6);
    const std::vector<float> b = Block(t, ldb, seed + 7, 1.0f);
    const std::vector<float> init = Block(t, ldo, seed + 8, 1.0f);
    for (bool transposed : {false, true}) {
      for (bool accumulate : {false, true}) {
        SCOPED_TRACE(Name(shape) + (transposed ? " transposed" : "") +
                     (accumulate ? " accumulate" : ""));
        const int64_t a_row = transposed ? 1 : t, a_col = transposed ? t : 1;
        std::vector<float> out = init;
        RowCombinations(a.data(), a_row, a_col, b.data(), ldb, t, d, out.data(), ldo, accumulate);
        for (int64_t r = 0; r < t; ++r) {
          for (int64_t c = 0; c < ldo; ++c) {
            if (c >= d) {  // columns beyond d are not touched
              ASSERT_EQ(out[r * ldo + c], init[r * ldo + c]) << "at " << r << ", " << c;
              continue;
            }
            double ref = accumulate ? init[r * ldo + c] : 0.0, mag = std::fabs(ref);
            for (int64_t s = 0; s < t; ++s) {
              ref += double(a[r * a_row + s * a_col]) * b[s * ldb + c];
              mag += std::fabs(double(a[r * a_row + s * a_col]) * b[s * ldb + c]);
            }
            ASSERT_NEAR(out[r * ldo + c], ref, 1e-5 * mag + 1e-30) << "at " << r << ", " << c;
          }
        }
      }
    }
  }
}

// The same inputs at different (mis)alignments give bit-identical outputs:
// no loop peels to an address (which would change what is summed with
// what), so results do not depend on where a thread's buffers lie.
TEST(AttentionKernelsTest, ResultsDoNotDependOnAddresses) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  for (const Shape& shape : {Shape{50, 16}, Shape{65, 16}, Shape{33, 24}}) {
    SCOPED_TRACE(Name(shape));
    const int64_t t = shape.t, d = shape.d, ld = 3 * d;
    const std::vector<float> x = Block(t, ld, seed + 9, 2.0f), y = Block(t, ld, seed + 10, 2.0f);
    std::vector<float> first_p, first_ds, first_out;
    for (int64_t shift : {0, 1, 3, 8, 13}) {
      // Inputs, outputs and scratch all start `shift` floats into their
      // buffers.
      auto shifted = [&](const std::vector<float>& src) {
        std::vector<float> v(src.size() + shift, 0.0f);
        std::copy(src.begin(), src.end(), v.begin() + shift);
        return v;
      };
      const std::vector<float> xs = shifted(x), ys = shifted(y);
      std::vector<float> p(t * t + shift), ds(t * t + shift), out(t * ld + shift);
      std::vector<float> scratch(ScoresScratch(t, d) + shift);
      ScoresSoftmax(xs.data() + shift, ld, ys.data() + shift, ld, 0.25f, t, d, p.data() + shift,
                    scratch.data() + shift);
      ScoresSoftmaxBackward(ys.data() + shift, ld, xs.data() + shift, ld, p.data() + shift, 0.25f,
                            t, d, ds.data() + shift, scratch.data() + shift);
      RowCombinations(ds.data() + shift, 1, t, xs.data() + shift, ld, t, d, out.data() + shift, ld,
                      false);
      p.erase(p.begin(), p.begin() + shift);
      ds.erase(ds.begin(), ds.begin() + shift);
      out.erase(out.begin(), out.begin() + shift);
      if (shift == 0) {
        first_p = p;
        first_ds = ds;
        first_out = out;
      } else {
        EXPECT_EQ(p, first_p) << "shift " << shift;
        EXPECT_EQ(ds, first_ds) << "shift " << shift;
        EXPECT_EQ(out, first_out) << "shift " << shift;
      }
    }
  }
}

}  // namespace
}  // namespace kernels
}  // namespace twophase
