#!/usr/bin/env bash
# The README's main-job command: set up (idempotent), build, run the `quick`
# suite (vit-mlp and vgg5 on MNIST and Fashion-MNIST subsets, Adam vs CG vs
# two-phase; about 15 minutes on 2 cores) into out/quick, and write its
# tables, plots and report (out/quick/report.md).
#
# Interrupted, or a cell failed? Run it again: --resume keeps the finished
# cells, continues the one in flight from its last checkpoint and reruns the
# failed ones (results/README.md). Ctrl-C pauses the cell in flight at its
# next epoch end with a checkpoint (exit 3, no report); a second Ctrl-C
# stops at once.
# Extra arguments go to `twophase run` (e.g.
# --filter model=vgg5, or --suite smoke --out out/smoke).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target twophase
# --suite and --out may be given; the rest passes through.
suite=quick out=
rest=()
while (($#)); do
  case "$1" in
    --suite) suite=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) rest+=("$1"); shift ;;
  esac
done
out=${out:-out/$(basename "$suite" .json)}
build/twophase run --suite "$suite" --out "$out" --resume "${rest[@]}"
build/twophase report "$out"
echo "main: the report is $out/report.md"
