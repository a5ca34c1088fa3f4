#!/usr/bin/env bash
# The whole test suite again, in a build without MPI, under the other
# OpenBLAS kernel setting than this environment's (README, "OpenBLAS's
# kernel"), so that CI covers both settings and both builds whatever
# machine it runs on:
#  - OPENBLAS_CORETYPE set here: again without it (and OPENBLAS_L2_SIZE), as
#    on a fresh user's machine, where twophase chooses the kernel;
#  - not set: again with OPENBLAS_CORETYPE=Prescott, the generic kernels
#    OpenBLAS falls back to on a CPU it does not know.
# The tests run linked without MPI: build/'s twins twophase_nompi and
# twophase_tests_nompi (-DTWOPHASE_NOMPI_TWIN=ON, CMakeLists.txt), the same
# objects as scripts/test.sh's with the one-process side of World()
# (core/communicator.h), where the mpirun tests say they skip. A compile and
# two links, not a second build: nothing but core/communicator_mpi.cc sees
# <mpi.h> in any build. (scripts/fuzz.sh configures with -DTWOPHASE_MPI=OFF.)
# Side by side, one test per core, as scripts/test.sh runs them.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTWOPHASE_WERROR=ON -DTWOPHASE_NOMPI_TWIN=ON \
  >/dev/null
cmake --build build -j"$(nproc)" --target twophase_tests_nompi
cd build
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
  echo "tests again without MPI and without OPENBLAS_CORETYPE (this environment sets it to $OPENBLAS_CORETYPE)"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ctest --output-on-failure --timeout 600 -j"$(nproc)" -L nompi
else
  echo "tests again without MPI and with OPENBLAS_CORETYPE=Prescott (this environment does not set it)"
  OPENBLAS_CORETYPE=Prescott ctest --output-on-failure --timeout 600 -j"$(nproc)" -L nompi
fi
