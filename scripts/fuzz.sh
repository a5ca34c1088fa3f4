#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, build-fuzz/) and runs each for
# N seconds (default 20) on a copy of its committed seed corpus; fails on any
# crash, leak, sanitizer report or timeout. Needs scripts/setup.sh's packages
# (clang, libclang-rt-14-dev, libomp-dev).
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (or FUZZ_SECONDS=N;
#                                              FUZZ_BUILD_DIR, default build-fuzz)
# Prints per target the executions, the coverage (libFuzzer's cov: edges and
# ft: features) and the time taken. A crashing input is kept as
# <build dir>/artifacts/<target>/crash-*; add it as a regression test of the
# reader (see fuzz/README.md).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
seconds=${1:-${FUZZ_SECONDS:-20}}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(idx cifar safetensors suite metadata curve)
build=${FUZZ_BUILD_DIR:-build-fuzz}

start=$SECONDS
# Without MPI, which the readers never use: CI's one configure with
# TWOPHASE_MPI=OFF, so that option keeps building.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DTWOPHASE_FUZZ=ON -DTWOPHASE_WERROR=OFF -DTWOPHASE_MPI=OFF \
  >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/%/_fuzzer}"
echo "fuzz: build took $((SECONDS - start)) s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
printf '%-12s %10s %8s %8s %6s  %s\n' target execs cov ft secs result
for t in "${targets[@]}"; do
  # New inputs go to a scratch copy: the committed corpus stays as it is.
  mkdir -p "$work/$t" "$build/artifacts/$t"
  cp -r fuzz/corpus/"$t"/. "$work/$t"/
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  log="$build/artifacts/$t/last-run.log"
  t0=$SECONDS
  rc=0
  "$build/fuzz/${t}_fuzzer" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$build/artifacts/$t/" "${dict[@]}" "$work/$t" \
    >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  result=ok
  if ((rc != 0)); then
    result="FAILED (rc $rc; $log)"
    failed+=("$t")
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 >&2 || true
  fi
  printf '%-12s %10s %8s %8s %6s  %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
    "$((SECONDS - t0))" "$result"
done
echo "fuzz: total $((SECONDS - start)) s"
if ((${#failed[@]})); then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
