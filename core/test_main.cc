// The tests' main: GoogleTest's, after choosing OpenBLAS's kernel as the
// `twophase` binary does (core/openblas_kernel.h), so that a test that
// compares its own results with those of a `twophase` it starts compares
// like with like on a CPU that OpenBLAS does not recognise.
#include <gtest/gtest.h>
#include <unistd.h>

#include "core/openblas_kernel.h"

int main(int argc, char** argv) {
  if (twophase::RequestBetterOpenBlasKernel()) execv("/proc/self/exe", argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
