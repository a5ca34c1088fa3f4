// Without AVX-512 (TWOPHASE_NATIVE off) GCC notes that passing the 64-byte
// Vec below by value has a different ABI than with it. Every function that
// takes or returns one is internal to this file, so no ABI is crossed.
#pragma GCC diagnostic ignored "-Wpsabi"

#include "models/attention_kernels.h"

#include <algorithm>
#include <cstring>

namespace twophase {
namespace attention_kernels {
namespace {

// 16 floats as one value: an AVX-512 register with -march=native, two or
// four narrower ones elsewhere (GCC's generic vector extension), so the
// accumulators below are explicit registers on any target. Loads and
// stores go through memcpy (unaligned, no aliasing questions).
typedef float Vec __attribute__((vector_size(64)));
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

// R rows x NV vectors of out = s * a b^T, reading bt (padded [d, ldt]).
// The R * NV accumulators stay in registers; each loaded vector of bt is
// used R times. Stores the first `cols` columns of every row.
template <int R, int NV>
void ABtTile(const float* a, int64_t lda, const float* bt, int64_t ldt, float scale, int64_t d,
             float* out, int64_t ldo, int64_t cols) {
  Vec acc[R][NV] = {};
  for (int64_t c = 0; c < d; ++c) {
    Vec b[NV];
    for (int v = 0; v < NV; ++v) b[v] = Load(bt + c * ldt + v * kVec);
    for (int r = 0; r < R; ++r) {
      const Vec s = Splat(scale * a[r * lda + c]);
      for (int v = 0; v < NV; ++v) acc[r][v] += s * b[v];
    }
  }
  for (int r = 0; r < R; ++r) {
    float row[NV * kVec];
    for (int v = 0; v < NV; ++v) Store(row + v * kVec, acc[r][v]);
    std::memcpy(out + r * ldo, row, sizeof(float) * cols);
  }
}

template <int NV>
void ABtColumns(const float* a, int64_t lda, const float* bt, int64_t ldt, float scale, int64_t t,
                int64_t d, float* out, int64_t cols) {
  int64_t i = 0;
  for (; i + 4 <= t; i += 4) {
    ABtTile<4, NV>(a + i * lda, lda, bt, ldt, scale, d, out + i * t, t, cols);
  }
  for (; i < t; ++i) ABtTile<1, NV>(a + i * lda, lda, bt, ldt, scale, d, out + i * t, t, cols);
}

// R rows x NV vectors of out (=, +=) sum_s A(r, s) b[s, :].
template <int R, int NV>
void CombineTile(const float* a, int64_t a_row, int64_t a_col, const float* b, int64_t ldb,
                 int64_t t, float* out, int64_t ldo, bool accumulate) {
  Vec acc[R][NV] = {};
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

// Rows in tiles of R (8 independent accumulator chains for one vector per
// row, 4 for wider rows), the rest one at a time.
template <int R, int NV>
void CombineColumns(const float* a, int64_t a_row, int64_t a_col, const float* b, int64_t ldb,
                    int64_t t, float* out, int64_t ldo, bool accumulate) {
  int64_t r = 0;
  for (; r + R <= t; r += R) {
    CombineTile<R, NV>(a + r * a_row, a_row, a_col, b, ldb, t, out + r * ldo, ldo, accumulate);
  }
  for (; r < t; ++r) {
    CombineTile<1, NV>(a + r * a_row, a_row, a_col, b, ldb, t, out + r * ldo, ldo, accumulate);
  }
}

}  // namespace

void ScaledABt(const float* a, int64_t lda, const float* b, int64_t ldb, float scale, int64_t t,
               int64_t d, float* out, float* bt) {
  // bt = b^T with its rows padded to whole vectors (zeros beyond t).
  const int64_t ldt = (t + kVec - 1) / kVec * kVec;
  for (int64_t c = 0; c < d; ++c) {
    float* row = bt + c * ldt;
    for (int64_t j = 0; j < t; ++j) row[j] = b[j * ldb + c];
    std::fill(row + t, row + ldt, 0.0f);
  }
  // Column blocks of up to 4 vectors (64 columns).
  for (int64_t j0 = 0; j0 < t; j0 += 4 * kVec) {
    const int64_t cols = std::min<int64_t>(4 * kVec, t - j0);
    const int64_t nv = (cols + kVec - 1) / kVec;
    const float* btj = bt + j0;
    float* o = out + j0;
    if (nv == 4) ABtColumns<4>(a, lda, btj, ldt, scale, t, d, o, cols);
    if (nv == 3) ABtColumns<3>(a, lda, btj, ldt, scale, t, d, o, cols);
    if (nv == 2) ABtColumns<2>(a, lda, btj, ldt, scale, t, d, o, cols);
    if (nv == 1) ABtColumns<1>(a, lda, btj, ldt, scale, t, d, o, cols);
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

}  // namespace attention_kernels
}  // namespace twophase
