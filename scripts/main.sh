#!/usr/bin/env bash
# The README's main-job command: set up (idempotent), build, and train the
# default model on its default data. Extra arguments go to `twophase train`
# and override the defaults (later ones win).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target twophase
mkdir -p out
exec build/twophase train --model vit-mlp --dataset mnist --subset 10000 \
  --epochs 5 --threads 2 --csv out/vit-mlp-mnist.csv \
  --save out/vit-mlp-mnist.safetensors "$@"
