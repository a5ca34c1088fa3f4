// The seed of the randomised tests, Eigen-test style: fixed by default so
// runs are repeatable, settable with TWOPHASE_TEST_SEED to explore others,
// and printed in every failure message (SeedNote) so a failure can be
// replayed.
#ifndef TWOPHASE_CORE_TEST_SEED_H_
#define TWOPHASE_CORE_TEST_SEED_H_

#include <cstdint>
#include <cstdlib>
#include <string>

namespace twophase {

inline uint64_t TestSeed() {
  const char* env = std::getenv("TWOPHASE_TEST_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20240611;
}

inline std::string SeedNote(uint64_t seed) {
  return "seed " + std::to_string(seed) + " (set TWOPHASE_TEST_SEED)";
}

}  // namespace twophase

#endif  // TWOPHASE_CORE_TEST_SEED_H_
