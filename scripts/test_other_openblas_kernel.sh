#!/usr/bin/env bash
# The whole test suite again, under the other OpenBLAS kernel setting than
# this environment's (README, "OpenBLAS's kernel"), so that CI covers both
# whatever machine it runs on:
#  - OPENBLAS_CORETYPE set here: again without it (and OPENBLAS_L2_SIZE), as
#    on a fresh user's machine, where twophase chooses the kernel;
#  - not set: again with OPENBLAS_CORETYPE=Prescott, the generic kernels
#    OpenBLAS falls back to on a CPU it does not know.
# Runs in the build that scripts/test.sh made.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../build"
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
  echo "tests again without OPENBLAS_CORETYPE (this environment sets it to $OPENBLAS_CORETYPE)"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ctest --output-on-failure --timeout 600
else
  echo "tests again with OPENBLAS_CORETYPE=Prescott (this environment does not set it)"
  OPENBLAS_CORETYPE=Prescott ctest --output-on-failure --timeout 600
fi
