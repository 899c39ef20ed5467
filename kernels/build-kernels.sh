#!/usr/bin/env bash
# Compiles every kernels/src/main/cuda/*.cu to a fatbin (SASS for sm_80 and sm_90a, PTX for JIT on
# anything newer) packaged as a class-path resource, with the `-Xptxas -v` report of each module in
# the log folder. A kernel that does not compile fails the build; so does a register spill in a hot
# kernel (check-spills.sh). Without nvcc the build goes on and says that the CUDA backend will be
# unavailable.
#
# Incremental by content, not by time stamps: each module is rebuilt only when the hash of its .cu,
# every .cuh, the nvcc version and the flags changed (so `mvn install` after `mvn verify`, a fresh
# checkout with new mtimes or a copied target/ never recompile for nothing). Modules compile in
# parallel, one per core.
#
# usage: build-kernels.sh SRC_DIR OUT_DIR LOG_DIR [CACHE_DIR]
set -euo pipefail
src=$1; out=$2; logs=$3; cache=${4:-$logs/../cuda-cache}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out" "$logs" "$cache"
nvcc=${NVCC:-}
if [ -z "$nvcc" ]; then
  if command -v nvcc >/dev/null 2>&1; then nvcc=$(command -v nvcc)
  elif [ -x /usr/local/cuda/bin/nvcc ]; then nvcc=/usr/local/cuda/bin/nvcc
  fi
fi
if [ -z "$nvcc" ]; then
  echo "[kernels] nvcc not found (set NVCC or install the CUDA toolkit): building without CUDA kernels; the CUDA backend will be unavailable."
  rm -f "$out/kernels.list"
  exit 0
fi
version=$("$nvcc" --version | tail -1)
gencode="-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90a,code=sm_90a -gencode arch=compute_80,code=compute_80"
# --no-compress keeps kernel symbol names readable in the image (KernelImages checks them).
flags="-fatbin -O3 -std=c++17 -lineinfo --no-compress $gencode -Xptxas -v"
headers=$(cat "$src"/*.cuh 2>/dev/null | sha256sum | cut -c1-64)
jobs=${D4J_KERNEL_JOBS:-$(nproc 2>/dev/null || echo 2)}

compile() { # name -> compiles into the cache when its inputs changed
  local name=$1 cu="$src/$1.cu"
  local key; key=$( { echo "$version|$flags|$headers"; cat "$cu"; } | sha256sum | cut -c1-64)
  if [ -f "$cache/$name.fatbin" ] && [ -f "$cache/$name.entries" ] && [ -f "$cache/$name.key" ] && [ "$(cat "$cache/$name.key")" = "$key" ] \
     && [ -f "$logs/$name.ptxas.log" ]; then
    return 0
  fi
  echo "[kernels]   $name.cu"
  local t0=$SECONDS
  rm -f "$cache/$name.key"
  if ! "$nvcc" $flags -I "$src" -o "$cache/$name.fatbin.tmp" "$cu" > "$logs/$name.ptxas.log" 2>&1; then
    cat "$logs/$name.ptxas.log"; echo "[kernels] $name.cu failed to compile"; return 1
  fi
  mv "$cache/$name.fatbin.tmp" "$cache/$name.fatbin"
  # Entry points, from the ptxas report: the manifest the Java loader and tests read.
  sed -n "s/.*Compiling entry function '\([^']*\)'.*/\1/p" "$logs/$name.ptxas.log" | sort -u > "$cache/$name.entries"
  echo "$key" > "$cache/$name.key"
  echo "[kernels]   $name.cu done in $((SECONDS - t0)) s"
}
export -f compile
export src logs cache nvcc flags version headers

names=$(for cu in "$src"/*.cu; do basename "$cu" .cu; done)
t0=$SECONDS
echo "[kernels] $version; $(echo "$names" | wc -w) module(s), up to $jobs at a time"
echo "$names" | xargs -P "$jobs" -I{} bash -c 'compile "$@"' _ {}
# Package: copy changed fatbins into the class-path folder and list them (the loader reads the list).
list="$out/kernels.list.tmp"
: > "$list"
for name in $names; do
  for ext in fatbin entries; do
    cmp -s "$cache/$name.$ext" "$out/$name.$ext" 2>/dev/null || cp "$cache/$name.$ext" "$out/$name.$ext"
  done
  echo "$name" >> "$list"
done
# Drop fatbins of modules whose source is gone.
for f in "$out"/*.fatbin "$out"/*.entries; do
  [ -e "$f" ] || continue
  n=$(basename "${f%.*}"); echo "$names" | grep -qx "$n" || rm -f "$f"
done
cmp -s "$list" "$out/kernels.list" 2>/dev/null && rm -f "$list" || mv "$list" "$out/kernels.list"
echo "[kernels] $(wc -l < "$out/kernels.list") kernel module(s) packaged ($((SECONDS - t0)) s)"
bash "$here/check-spills.sh" "$logs"
