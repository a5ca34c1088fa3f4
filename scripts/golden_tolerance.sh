#!/usr/bin/env bash
# The golden-section tolerance experiment of issue 16 (suites/README.md,
# "paper-mnist"): the paper does not give its line search's tolerance, so
# ours is chosen by measurement. From the smallest model's epoch-300 Adam
# point of the paper-mnist protocol (batch 512, lr 1e-3, seed 0, oneDNN, 2
# threads: the same point the suite's two-phase cell swaps at), run 20 CG
# epochs (Polak-Ribiere, golden section) at each tolerance and print the
# loss reached and the forward passes per epoch.
#
# Usage: scripts/golden_tolerance.sh [OUT_DIR [INIT]]   (default out/golden-tolerance)
# INIT: the epoch-300 point to start from instead of training it (about 25
# minutes on 2 cores): a safetensors file or a checkpoint of the suite's Adam
# cell saved at epoch 300 (`twophase run ... --checkpoint-epochs 100`). Then
# 5-15 minutes per tolerance.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-out/golden-tolerance}
mkdir -p "$out"
init=${2:-$out/adam300.safetensors}
[[ -f "$init" || -z "${2:-}" ]] || { echo "golden_tolerance.sh: $init: no such file" >&2; exit 2; }
tp="$root/build/twophase"
common=(--model vit-nomlp-wkewq-wvwo --dataset mnist --threads 2 --backend onednn --seed 0)
if [[ ! -f "$init" ]]; then
  "$tp" train "${common[@]}" --optimizer adam --epochs 300 --batch 512 --lr 0.001 \
    --eval-every 50 --checkpoint-dir "$out/adam-checkpoints" --resume \
    --csv "$out/adam300.csv" --save "$out/adam300.safetensors" > "$out/adam300.log"
fi
echo "tolerance,train_loss_after_20,forward_passes_per_epoch,wall_seconds_per_epoch"
for tol in 1e-3 1e-2 3e-2; do
  csv="$out/golden-$tol.csv"
  if [[ ! -f "$csv.done" ]]; then
    "$tp" train "${common[@]}" --init "$init" --optimizer cg \
      --beta polak-ribiere --line-search golden --golden-tolerance "$tol" --epochs 20 \
      --eval-every 20 --csv "$csv" > "$out/golden-$tol.log"
    touch "$csv.done"
  fi
  # By column name: curve.csv's columns move when one is added.
  awk -F, -v tol="$tol" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    { last = $0 } END { split(last, f, ",");
      printf "%s,%s,%.2f,%.1f\n", tol, f[col["train_loss"]], f[col["forward_passes"]] / 20,
        f[col["wall_seconds"]] / 20 }' "$csv"
done
