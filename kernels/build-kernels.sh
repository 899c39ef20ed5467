#!/usr/bin/env bash
# Compiles every kernels/src/main/cuda/*.cu to a fatbin (SASS for sm_80 and sm_90a, PTX for JIT)
# packaged as a class-path resource. A kernel that does not compile fails the build. Without nvcc
# the build goes on and says that the CUDA backend will be unavailable.
set -euo pipefail
src=$1; out=$2; logs=$3
mkdir -p "$out" "$logs"
nvcc=${NVCC:-}
if [ -z "$nvcc" ]; then
  if command -v nvcc >/dev/null 2>&1; then nvcc=$(command -v nvcc)
  elif [ -x /usr/local/cuda/bin/nvcc ]; then nvcc=/usr/local/cuda/bin/nvcc
  fi
fi
if [ -z "$nvcc" ]; then
  echo "[kernels] nvcc not found (set NVCC or install the CUDA toolkit): building without CUDA kernels; the CUDA backend will be unavailable."
  exit 0
fi
echo "[kernels] compiling CUDA kernels with $($nvcc --version | tail -1)"
gencode="-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90a,code=sm_90a -gencode arch=compute_80,code=compute_80"
list="$out/kernels.list"
: > "$list"
for cu in "$src"/*.cu; do
  name=$(basename "$cu" .cu)
  if [ "$out/$name.fatbin" -nt "$cu" ] && [ -z "$(find "$src" -name '*.cuh' -newer "$out/$name.fatbin")" ]; then
    echo "$name" >> "$list"; continue
  fi
  echo "[kernels]   $name.cu"
  "$nvcc" -fatbin -O3 -std=c++17 -lineinfo $gencode -Xptxas -v -I "$src" -o "$out/$name.fatbin" "$cu" \
      > "$logs/$name.ptxas.log" 2>&1 || { cat "$logs/$name.ptxas.log"; echo "[kernels] $name.cu failed to compile"; exit 1; }
  echo "$name" >> "$list"
done
echo "[kernels] $(wc -l < "$list") kernel module(s) packaged"
