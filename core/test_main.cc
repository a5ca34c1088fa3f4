// The tests' main: GoogleTest's, after the runtime set-up the `twophase`
// binary does (core/threads.h, EnsureRuntimeSettings): OpenBLAS's kernel
// (core/openblas_kernel.h), so that a test that compares its own results
// with those of a `twophase` it starts compares like with like on a CPU
// that OpenBLAS does not recognise; and libgomp's bounded spinning, so that
// tests run side by side (ctest -j, scripts/test.sh) do not hold each
// other's cores in spinning workers.
#include <gtest/gtest.h>

#include "core/threads.h"

int main(int argc, char** argv) {
  twophase::EnsureRuntimeSettings(argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
