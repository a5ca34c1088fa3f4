#!/usr/bin/env bash
# Runs the smoke suite afresh and compares it with the committed results/smoke/
# (`twophase compare`, exit 1 naming each cell that moved). The tolerance:
# another OpenBLAS kernel (OPENBLAS_CORETYPE=Haswell or Prescott here) moves the
# smoke suite's losses by up to 3e-5 relative, a 3% change of Adam's lr moves
# them by 2e-2; 1e-3 lies well between (results/README.md). Needs build/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build/twophase run --suite smoke --out "$tmp/smoke" >"$tmp/run.log" 2>&1 || {
  cat "$tmp/run.log" >&2
  exit 1
}
build/twophase compare results/smoke "$tmp/smoke" --loss-rtol 1e-3 --out "$tmp/compare"
