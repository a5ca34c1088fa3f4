#!/usr/bin/env bash
# The README's test command: set up (idempotent), check the format, build,
# run every test, and compare a fresh smoke run with results/smoke/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/setup.sh
scripts/format_check.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTWOPHASE_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
cd build
# Tests side by side, one per core: each test process bounds libgomp's
# spinning as `twophase` does (core/test_main.cc), so two of them on two
# cores no longer hold each other's cores in spinning workers. Measured in
# one session on the 2-core machine, the whole suite: 276 s one at a time
# with libgomp's default spinning, 227 s with -j2 alone, 178 s with -j2 and
# the bounded spinning (bench/README.md, "CI's test steps side by side").
# Not the twins linked without MPI (label nompi): CI's next step runs those.
ctest --output-on-failure --timeout 600 -j"$jobs" -LE nompi
cd "$root"
scripts/smoke_compare.sh
