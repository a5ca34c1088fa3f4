#!/usr/bin/env bash
# The whole test suite again, in a build without MPI, under the other
# OpenBLAS kernel setting than this environment's (README, "OpenBLAS's
# kernel"), so that CI covers both settings and both builds whatever
# machine it runs on:
#  - OPENBLAS_CORETYPE set here: again without it (and OPENBLAS_L2_SIZE), as
#    on a fresh user's machine, where twophase chooses the kernel;
#  - not set: again with OPENBLAS_CORETYPE=Prescott, the generic kernels
#    OpenBLAS falls back to on a CPU it does not know.
# The build is build-nompi/ (-DTWOPHASE_MPI=OFF): a machine without
# OpenMPI builds and passes (the mpirun tests say they skip), and World()
# is one process there (core/communicator.h).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
cmake -S . -B build-nompi -DCMAKE_BUILD_TYPE=Release -DTWOPHASE_WERROR=ON -DTWOPHASE_MPI=OFF \
  >/dev/null
cmake --build build-nompi -j"$(nproc)"
cd build-nompi
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
  echo "tests again without MPI and without OPENBLAS_CORETYPE (this environment sets it to $OPENBLAS_CORETYPE)"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ctest --output-on-failure --timeout 600
else
  echo "tests again without MPI and with OPENBLAS_CORETYPE=Prescott (this environment does not set it)"
  OPENBLAS_CORETYPE=Prescott ctest --output-on-failure --timeout 600
fi
