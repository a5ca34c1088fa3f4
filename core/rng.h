// A small, platform-independent random number generator.
//
// std::uniform_real_distribution and friends are implementation-defined, so
// the same seed would give different weights with another standard library.
// Everything random in twophase (initialisation, shuffling, subsets, test
// data) goes through this class: xoshiro256** seeded by splitmix64, with our
// own conversions to floats, normals and bounded integers.
#ifndef TWOPHASE_CORE_RNG_H_
#define TWOPHASE_CORE_RNG_H_

#include <cmath>
#include <cstdint>
#include <utility>

#include "core/state_io.h"

namespace twophase {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (uint64_t& s : state_) s = SplitMix64(&x);
  }

  uint64_t NextU64() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double Uniform01() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform01(); }
  // Standard normal by Box-Muller (both values used).
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = Uniform01();
    while (u1 <= 0.0) u1 = Uniform01();
    const double u2 = Uniform01();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * M_PI * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }
  // Uniform integer in [0, n), unbiased (Lemire's method with rejection).
  uint64_t Below(uint64_t n) {
    uint64_t x = NextU64();
    __uint128_t m = static_cast<__uint128_t>(x) * n;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = -n % n;
      while (low < threshold) {
        x = NextU64();
        m = static_cast<__uint128_t>(x) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }
  // Fisher-Yates shuffle of [first, first + n).
  template <typename T>
  void Shuffle(T* first, int64_t n) {
    for (int64_t i = n - 1; i > 0; --i) {
      const int64_t j = static_cast<int64_t>(Below(static_cast<uint64_t>(i) + 1));
      std::swap(first[i], first[j]);
    }
  }

  // The generator's whole state, for checkpoints.
  void SaveState(StateWriter* w) const {
    for (const uint64_t s : state_) w->U64(s);
    w->F64(spare_);
    w->Bool(has_spare_);
  }
  bool LoadState(StateReader* r) {
    for (uint64_t& s : state_) r->U64("rng.state", &s);
    r->F64("rng.spare", &spare_);
    return r->Bool("rng.has_spare", &has_spare_);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix64(uint64_t* x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  uint64_t state_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace twophase

#endif  // TWOPHASE_CORE_RNG_H_
