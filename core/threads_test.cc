#include "core/threads.h"

#include <gtest/gtest.h>

namespace twophase {
namespace {

// The test processes wait as `twophase` does (core/test_main.cc): ctest
// runs them side by side, and libgomp's default spinning would hold the
// core a neighbouring test needs (bench/README.md, "CI's test steps side
// by side"). A user's own setting wins, as it does for `twophase`.
TEST(ThreadsTest, TestProcessesBoundOpenMpSpinningAsTwophaseDoes) {
  EXPECT_NE(OpenMpWaiting(), "libgomp default");
}

}  // namespace
}  // namespace twophase
