// Without AVX-512 (TWOPHASE_NATIVE off) GCC notes that passing the 64-byte
// Vec below by value has a different ABI than with it. Every function that
// takes or returns one is internal to this file, so no ABI is crossed.
#pragma GCC diagnostic ignored "-Wpsabi"

#include "kernels/attention.h"

#include "kernels/fast_math.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <type_traits>

namespace twophase {
namespace kernels {
namespace {

// 16 floats as one value: an AVX-512 register with -march=native, two or
// four narrower ones elsewhere (GCC's generic vector extension), so the
// accumulators below are explicit registers on any target. Loads and
// stores go through memcpy (unaligned, no aliasing questions).
typedef float Vec __attribute__((vector_size(64)));
typedef int32_t IVec __attribute__((vector_size(64)));
constexpr int64_t kVec = 16;

inline Vec Load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void Store(float* p, const Vec& v) { std::memcpy(p, &v, sizeof(v)); }
// s - 0 is s for every float (also -0), so this is one broadcast; s + 0
// would need an add (-0 + 0 = +0) and a lane loop compiles to 16 inserts.
inline Vec Splat(float s) { return s - Vec{}; }

// The first n (1 <= n <= 16) floats at p: the ends of [t, t] rows, which a
// whole-vector access would run past (beyond the buffer on the last row).
// Masked AVX-512 moves where there are any, since a variable-length memcpy
// is a libc call; lanes >= n load as 0 and are not stored.
#if defined(__AVX512F__)
inline __mmask16 FirstLanes(int64_t n) { return static_cast<__mmask16>((1u << n) - 1); }
inline Vec LoadFirst(const float* p, int64_t n) {
  return reinterpret_cast<Vec>(_mm512_maskz_loadu_ps(FirstLanes(n), p));
}
inline void StoreFirst(float* p, const Vec& v, int64_t n) {
  _mm512_mask_storeu_ps(p, FirstLanes(n), reinterpret_cast<__m512>(v));
}
#else
inline Vec LoadFirst(const float* p, int64_t n) {
  Vec v = {};
  for (int64_t j = 0; j < n; ++j) v[j] = p[j];
  return v;
}
inline void StoreFirst(float* p, const Vec& v, int64_t n) {
  for (int64_t j = 0; j < n; ++j) p[j] = v[j];
}
#endif

inline Vec Max(const Vec& a, const Vec& b) { return a < b ? b : a; }

// Horizontal max and sum in a fixed order: with GCC by folding the vector
// onto itself rotated by 8, 4, 2 and 1 lanes (a shuffle and an operation
// each; GCC 12's _mm512_reduce_* trip -Wuninitialized), else lane by lane.
#if defined(__GNUC__) && !defined(__clang__)
template <int K>
inline Vec Rotate(const Vec& v) {
  constexpr IVec kIndex = {K,     K + 1, K + 2,  K + 3,  K + 4,  K + 5,  K + 6,  K + 7,
                           K + 8, K + 9, K + 10, K + 11, K + 12, K + 13, K + 14, K + 15};
  return __builtin_shuffle(v, kIndex & 15);
}
inline float ReduceMax(Vec v) {
  v = Max(v, Rotate<8>(v));
  v = Max(v, Rotate<4>(v));
  v = Max(v, Rotate<2>(v));
  return Max(v, Rotate<1>(v))[0];
}
inline float ReduceSum(Vec v) {
  v += Rotate<8>(v);
  v += Rotate<4>(v);
  v += Rotate<2>(v);
  return (v + Rotate<1>(v))[0];
}
#else
inline float ReduceMax(const Vec& v) {
  float m = v[0];
  for (int j = 1; j < kVec; ++j) m = std::max(m, v[j]);
  return m;
}
inline float ReduceSum(const Vec& v) {
  float s = v[0];
  for (int j = 1; j < kVec; ++j) s += v[j];
  return s;
}
#endif

// ExpNonPositive (kernels/fast_math.h) lane by lane, the same operations in the
// same order (see there for the method and its accuracy). Written out
// because the scalar function called in a 16-lane loop vectorises to
// 256-bit halves at best. With AVX-512 the last step, y * 2^n, is one
// vscalefps instead of building 2^n's exponent bits and multiplying (the
// same exact product, rounded once): the softmax is bound by these
// instructions, not by memory.
inline Vec Exp(const Vec& x) {
  const Vec low = Splat(-87.0f);
  Vec n;
  const Vec y = ExpReduced(Max(x, low), &n);
#if defined(__AVX512F__)
  const __mmask16 in_range =
      _mm512_cmp_ps_mask(reinterpret_cast<__m512>(x), reinterpret_cast<__m512>(low), _CMP_NLT_UQ);
  return reinterpret_cast<Vec>(
      _mm512_maskz_scalef_ps(in_range, reinterpret_cast<__m512>(y), reinterpret_cast<__m512>(n)));
#else
  const IVec bits = (__builtin_convertvector(n, IVec) + 127) << 23;
  const Vec e = y * std::bit_cast<Vec>(bits);
  return x < low ? Vec{} : e;
#endif
}

inline int64_t Padded(int64_t t) { return (t + kVec - 1) / kVec * kVec; }

// GCC's two-source shuffle with a mask vector. Clang has no such form (its
// __builtin_shufflevector wants literal indices); it only compiles this file
// for the fuzz build (scripts/fuzz.sh), which never runs attention, so a
// plain lane loop serves there.
#if defined(__GNUC__) && !defined(__clang__)
#define TWOPHASE_SHUFFLE2 __builtin_shuffle
#else
inline Vec Shuffle2Lanes(const Vec& a, const Vec& b, const IVec& mask) {
  Vec out;
  for (int j = 0; j < kVec; ++j) out[j] = mask[j] < kVec ? a[mask[j]] : b[mask[j] - kVec];
  return out;
}
#define TWOPHASE_SHUFFLE2 Shuffle2Lanes
#endif

// The 16 x 16 transpose of rows[0..15] in place, as the usual ladder of
// two-source shuffles: pairs of rows interleaved by floats, then by float
// pairs, so that in 128-bit lane L rows[4g + m] holds column 4L + m of rows
// 4g .. 4g + 3; then the 128-bit lanes gathered so that rows[c] holds
// column c. (GCC's generic shuffles rather than the AVX-512 intrinsics,
// whose GCC 12 headers trip -Wmaybe-uninitialized.)
inline void Transpose16(Vec rows[16]) {
  constexpr IVec kLoPs = {0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29};
  constexpr IVec kHiPs = {2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31};
  constexpr IVec kLoPd = {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29};
  constexpr IVec kHiPd = {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31};
  // 128-bit lanes (a0, a1, b0, b1), (a2, a3, b2, b3), (a0, a2, b0, b2), (a1, a3, b1, b3).
  constexpr IVec kLanes01 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
  constexpr IVec kLanes23 = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
  constexpr IVec kLanesEven = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};
  constexpr IVec kLanesOdd = {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31};
  Vec t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = TWOPHASE_SHUFFLE2(rows[i], rows[i + 1], kLoPs);
    t[i + 1] = TWOPHASE_SHUFFLE2(rows[i], rows[i + 1], kHiPs);
  }
  for (int i = 0; i < 16; i += 4) {
    for (int k = 0; k < 2; ++k) {
      rows[i + 2 * k] = TWOPHASE_SHUFFLE2(t[i + k], t[i + 2 + k], kLoPd);
      rows[i + 2 * k + 1] = TWOPHASE_SHUFFLE2(t[i + k], t[i + 2 + k], kHiPd);
    }
  }
  for (int m = 0; m < 4; ++m) {
    const Vec lo01 = TWOPHASE_SHUFFLE2(rows[m], rows[4 + m], kLanes01);
    const Vec hi01 = TWOPHASE_SHUFFLE2(rows[m], rows[4 + m], kLanes23);
    const Vec lo23 = TWOPHASE_SHUFFLE2(rows[8 + m], rows[12 + m], kLanes01);
    const Vec hi23 = TWOPHASE_SHUFFLE2(rows[8 + m], rows[12 + m], kLanes23);
    t[m] = TWOPHASE_SHUFFLE2(lo01, lo23, kLanesEven);
    t[4 + m] = TWOPHASE_SHUFFLE2(lo01, lo23, kLanesOdd);
    t[8 + m] = TWOPHASE_SHUFFLE2(hi01, hi23, kLanesEven);
    t[12 + m] = TWOPHASE_SHUFFLE2(hi01, hi23, kLanesOdd);
  }
  for (int i = 0; i < 16; ++i) rows[i] = t[i];
}

// bt = scale * b^T ([d, ldt]; zeros in columns t .. ldt - 1, so whole
// vectors of a bt row can be read). Scaling here rather than each a[i, c]
// keeps the tile loop below at one embedded-broadcast FMA per product.
// In 16 x 16 blocks transposed in registers (t = 50, d = 16: 800 scalar
// loads and stores become 4 blocks of 64 shuffles): element by element,
// ScoresSoftmax over vit-mlp's 2048 (sample, head) pairs took 7 % longer.
// Each element is the same one product scale * b[j, c] either way.
void TransposeScaled(const float* b, int64_t ldb, float scale, int64_t t, int64_t d, float* bt,
                     int64_t ldt) {
  const Vec sc = Splat(scale);
  for (int64_t c0 = 0; c0 < d; c0 += kVec) {
    const int64_t width = std::min<int64_t>(kVec, d - c0);
    for (int64_t j0 = 0; j0 < ldt; j0 += kVec) {
      Vec rows[kVec];
      for (int64_t j = 0; j < kVec; ++j) {
        rows[j] = j0 + j < t ? sc * LoadFirst(b + (j0 + j) * ldb + c0, width) : Vec{};
      }
      Transpose16(rows);
      for (int64_t c = 0; c < width; ++c) Store(bt + (c0 + c) * ldt + j0, rows[c]);
    }
  }
}

// R rows x NV vectors of out = a bt (full vectors, row stride ldo). The
// R * NV accumulators stay in registers; each loaded vector of bt is used
// R times, each a[r, c] once per vector.
template <int R, int NV>
void ABtTile(const float* a, int64_t lda, const float* bt, int64_t ldt, int64_t d, float* out,
             int64_t ldo) {
  Vec acc[R][NV] = {};
  for (int64_t c = 0; c < d; ++c) {
    Vec b[NV];
    for (int v = 0; v < NV; ++v) b[v] = Load(bt + c * ldt + v * kVec);
    for (int r = 0; r < R; ++r) {
      const Vec s = Splat(a[r * lda + c]);
      for (int v = 0; v < NV; ++v) acc[r][v] += s * b[v];
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < NV; ++v) Store(out + r * ldo + v * kVec, acc[r][v]);
  }
}

// R rows of a bt, all ldt columns, into out [R, ldt]: one column block for
// up to 5 vectors (t <= 80, which covers T = 50 and 65), else blocks of 4.
template <int R>
void ABtRows(const float* a, int64_t lda, const float* bt, int64_t ldt, int64_t d, float* out) {
  const int64_t nv = ldt / kVec;
  switch (nv) {
    case 1:
      return ABtTile<R, 1>(a, lda, bt, ldt, d, out, ldt);
    case 2:
      return ABtTile<R, 2>(a, lda, bt, ldt, d, out, ldt);
    case 3:
      return ABtTile<R, 3>(a, lda, bt, ldt, d, out, ldt);
    case 4:
      return ABtTile<R, 4>(a, lda, bt, ldt, d, out, ldt);
    case 5:
      return ABtTile<R, 5>(a, lda, bt, ldt, d, out, ldt);
    default:
      break;
  }
  int64_t v0 = 0;
  for (; v0 + 4 <= nv; v0 += 4) {
    ABtTile<R, 4>(a, lda, bt + v0 * kVec, ldt, d, out + v0 * kVec, ldt);
  }
  for (; v0 < nv; ++v0) ABtTile<R, 1>(a, lda, bt + v0 * kVec, ldt, d, out + v0 * kVec, ldt);
}

// Runs rows(std::integral_constant<int, R>, i, buf) for the rows i .. i +
// R - 1 of a bt, four at a time and the last 1-3 together, with buf =
// those rows of the product ([R, ldt]). (One row alone is a chain of
// dependent reductions; t = 50 leaves two.)
template <typename RowFn>
void ForScoreRows(const float* a, int64_t lda, const float* bt, int64_t ldt, int64_t t, int64_t d,
                  float* buf, RowFn rows) {
  int64_t i = 0;
  for (; i + 4 <= t; i += 4) {
    ABtRows<4>(a + i * lda, lda, bt, ldt, d, buf);
    rows(std::integral_constant<int, 4>{}, i, buf);
  }
  auto last = [&](auto r) {
    ABtRows<decltype(r)::value>(a + i * lda, lda, bt, ldt, d, buf);
    rows(r, i, buf);
  };
  switch (t - i) {
    case 3:
      return last(std::integral_constant<int, 3>{});
    case 2:
      return last(std::integral_constant<int, 2>{});
    case 1:
      return last(std::integral_constant<int, 1>{});
    default:
      return;
  }
}

// Rows i .. i + R - 1 of p (row stride t) = softmax of the rows of s
// ([R, ldt], whole vectors; lanes from t on are ignored and overwritten).
// The R rows go through each step together: one row alone is a chain of
// dependent reductions with little for the core to overlap.
template <int R>
void SoftmaxRows(float* s, int64_t t, int64_t ldt, float* p) {
  const int64_t last = ldt - kVec, tail = t - last;
  const Vec lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const Vec valid = Splat(static_cast<float>(tail));
  const Vec minus_inf = Splat(-std::numeric_limits<float>::infinity());
  Vec m[R];
  for (int r = 0; r < R; ++r) {  // pad lanes to -inf: no maximum, exp 0
    float* row = s + r * ldt;
    Store(row + last, lane < valid ? Load(row + last) : minus_inf);
    m[r] = Load(row);
  }
  for (int64_t c = kVec; c < ldt; c += kVec) {
    for (int r = 0; r < R; ++r) m[r] = Max(m[r], Load(s + r * ldt + c));
  }
  Vec sum[R] = {};
  for (int r = 0; r < R; ++r) m[r] = Splat(ReduceMax(m[r]));
  for (int64_t c = 0; c < ldt; c += kVec) {
    for (int r = 0; r < R; ++r) {
      const Vec e = Exp(Load(s + r * ldt + c) - m[r]);
      Store(s + r * ldt + c, e);
      sum[r] += e;
    }
  }
  // sum >= 1 (the maximum contributes 1), so the reciprocal is finite.
  for (int r = 0; r < R; ++r) sum[r] = Splat(1.0f / ReduceSum(sum[r]));
  for (int r = 0; r < R; ++r) {
    for (int64_t c = 0; c < last; c += kVec) Store(p + r * t + c, Load(s + r * ldt + c) * sum[r]);
    StoreFirst(p + r * t + last, Load(s + r * ldt + last) * sum[r], tail);
  }
}

// Rows of ds (row stride t) = scale * p (dp - rowsum(dp p)) for R rows;
// dp is [R, ldt] whole vectors (zeros from t on), p has row stride t.
template <int R>
void SoftmaxBackwardRows(const float* dp, const float* p, float scale, int64_t t, int64_t ldt,
                         float* ds) {
  const int64_t last = ldt - kVec, tail = t - last;
  Vec dot[R];
  for (int r = 0; r < R; ++r)
    dot[r] = LoadFirst(p + r * t + last, tail) * Load(dp + r * ldt + last);
  for (int64_t c = 0; c < last; c += kVec) {
    for (int r = 0; r < R; ++r) dot[r] += Load(p + r * t + c) * Load(dp + r * ldt + c);
  }
  const Vec sc = Splat(scale);
  for (int r = 0; r < R; ++r) {
    const Vec sum = Splat(ReduceSum(dot[r]));
    const float* pr = p + r * t;
    const float* dpr = dp + r * ldt;
    for (int64_t c = 0; c < last; c += kVec) {
      Store(ds + r * t + c, sc * (Load(pr + c) * (Load(dpr + c) - sum)));
    }
    StoreFirst(ds + r * t + last, sc * (LoadFirst(pr + last, tail) * (Load(dpr + last) - sum)),
               tail);
  }
}

// R rows x NV vectors of out (=, +=) sum_s A(r, s) b[s, :].
template <int R, int NV>
void CombineTile(const float* a, int64_t a_row, int64_t a_col, const float* b, int64_t ldb,
                 int64_t t, float* out, int64_t ldo, bool accumulate) {
  Vec acc[R][NV] = {};
#pragma GCC unroll 4  // ~8 % here: the loop is short (t) and its body small
  for (int64_t s = 0; s < t; ++s) {
    Vec bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = Load(b + s * ldb + v * kVec);
    for (int r = 0; r < R; ++r) {
      const Vec w = Splat(a[r * a_row + s * a_col]);
      for (int v = 0; v < NV; ++v) acc[r][v] += w * bv[v];
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < NV; ++v) {
      float* o = out + r * ldo + v * kVec;
      Store(o, accumulate ? Load(o) + acc[r][v] : acc[r][v]);
    }
  }
}

// The last `rows` (< R) rows as one tile of that height: CombineTile<rows>.
template <int R, int NV>
void CombineLastRows(int64_t rows, const float* a, int64_t a_row, int64_t a_col, const float* b,
                     int64_t ldb, int64_t t, float* out, int64_t ldo, bool accumulate) {
  if constexpr (R > 1) {
    if (rows == R - 1) {
      return CombineTile<R - 1, NV>(a, a_row, a_col, b, ldb, t, out, ldo, accumulate);
    }
    CombineLastRows<R - 1, NV>(rows, a, a_row, a_col, b, ldb, t, out, ldo, accumulate);
  }
}

// Rows in tiles of R (R independent accumulator chains for one vector per
// row, R * NV for wider rows), the last t % R rows as one smaller tile
// (single rows would each be one latency-bound chain of t FMAs).
template <int R, int NV>
void CombineColumns(const float* a, int64_t a_row, int64_t a_col, const float* b, int64_t ldb,
                    int64_t t, float* out, int64_t ldo, bool accumulate) {
  int64_t r = 0;
  for (; r + R <= t; r += R) {
    CombineTile<R, NV>(a + r * a_row, a_row, a_col, b, ldb, t, out + r * ldo, ldo, accumulate);
  }
  CombineLastRows<R, NV>(t - r, a + r * a_row, a_row, a_col, b, ldb, t, out + r * ldo, ldo,
                         accumulate);
}

}  // namespace

// Scratch: the padded transpose [d, ldt], then four rows of scores [4, ldt].
int64_t ScoresScratch(int64_t t, int64_t d) { return (d + 4) * Padded(t); }

void ScoresSoftmax(const float* a, int64_t lda, const float* b, int64_t ldb, float scale, int64_t t,
                   int64_t d, float* p, float* scratch) {
  const int64_t ldt = Padded(t);
  float* bt = scratch;
  TransposeScaled(b, ldb, scale, t, d, bt, ldt);
  ForScoreRows(a, lda, bt, ldt, t, d, bt + d * ldt, [&](auto rows, int64_t i, float* s) {
    SoftmaxRows<decltype(rows)::value>(s, t, ldt, p + i * t);
  });
}

void ScoresSoftmaxBackward(const float* g, int64_t ldg, const float* v, int64_t ldv, const float* p,
                           float scale, int64_t t, int64_t d, float* ds, float* scratch) {
  const int64_t ldt = Padded(t);
  float* vt = scratch;
  TransposeScaled(v, ldv, 1.0f, t, d, vt, ldt);
  ForScoreRows(g, ldg, vt, ldt, t, d, vt + d * ldt, [&](auto rows, int64_t i, const float* dp) {
    SoftmaxBackwardRows<decltype(rows)::value>(dp, p + i * t, scale, t, ldt, ds + i * t);
  });
}

void PrefetchRows(const float* base, int64_t begin, int64_t count, int64_t ld, bool write) {
  constexpr int64_t kLine = 64 / sizeof(float);
  const float* first = base + begin * ld;
  for (int64_t i = 0; i < count * ld; i += kLine) {
    if (write) {
      __builtin_prefetch(first + i, 1, 2);
    } else {
      __builtin_prefetch(first + i, 0, 2);
    }
  }
}

int64_t RowDotsScratch(int64_t t, int64_t d) { return d * Padded(t); }

void RowDots(const float* x, const float* b, int64_t ldb, int64_t t, int64_t d, float* out,
             float* scratch) {
  const int64_t ldt = Padded(t);
  float* bt = scratch;
  TransposeScaled(b, ldb, 1.0f, t, d, bt, ldt);  // * 1 is exact
  for (int64_t j0 = 0; j0 < ldt; j0 += kVec) {
    Vec acc = {};
    for (int64_t c = 0; c < d; ++c) {
      // Rounded product, then the sum: what GCC makes of the plain loop
      // (it vectorises the products and adds them in order); a fused
      // multiply-add would round once and give other bits. The empty asm
      // keeps the two apart.
      Vec product = Splat(x[c]) * Load(bt + c * ldt + j0);
      asm("" : "+v"(product));
      acc += product;
    }
    if (j0 + kVec <= t) {
      Store(out + j0, acc);
    } else {
      StoreFirst(out + j0, acc, t - j0);
    }
  }
}

void RowCombinations(const float* a, int64_t a_row, int64_t a_col, const float* b, int64_t ldb,
                     int64_t t, int64_t d, float* out, int64_t ldo, bool accumulate) {
  if (d % kVec == 0) {
    for (int64_t c0 = 0; c0 < d; c0 += 4 * kVec) {
      const int64_t nv = std::min<int64_t>(4, (d - c0) / kVec);
      const float* bc = b + c0;
      float* oc = out + c0;
      if (nv == 4) CombineColumns<4, 4>(a, a_row, a_col, bc, ldb, t, oc, ldo, accumulate);
      if (nv == 3) CombineColumns<4, 3>(a, a_row, a_col, bc, ldb, t, oc, ldo, accumulate);
      if (nv == 2) CombineColumns<4, 2>(a, a_row, a_col, bc, ldb, t, oc, ldo, accumulate);
      if (nv == 1) CombineColumns<8, 1>(a, a_row, a_col, bc, ldb, t, oc, ldo, accumulate);
    }
    return;
  }
  // Other widths (small test shapes): plain loops, the same summation order.
  for (int64_t r = 0; r < t; ++r) {
    float* o = out + r * ldo;
    for (int64_t c = 0; c < d; ++c) {
      float acc = 0.0f;
      for (int64_t s = 0; s < t; ++s) acc += a[r * a_row + s * a_col] * b[s * ldb + c];
      o[c] = accumulate ? o[c] + acc : acc;
    }
  }
}

}  // namespace kernels
}  // namespace twophase
