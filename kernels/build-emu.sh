#!/usr/bin/env bash
# Builds libd4jemu.so: every kernels/src/main/cuda/*.cu module compiled by g++ for the host with
# src/test/emu/emu.h (gemm_sm90 and conv_sm90 with emu_sm90.h), one translation unit per module that registers its
# extern "C" kernels by name (emu_lib.h). The library also exports d4j_emu_tensor_map_encode, the
# emulator's cuTensorMapEncodeTiled, which the Java backend's Hopper path binds under the emulator. The Java backend runs on it under
# -Dd4j.cuda.emulator=<OUT_DIR>/libd4jemu.so; the runtime's `cuda-emulated` test execution does so.
# <OUT_DIR>/fakecuda/libcuda.so.1 stands in for the driver under JCuda (`cuda-jcuda-fake` execution).
# Without g++ the build goes on and those tests report themselves skipped.
#
# Incremental by content: rebuilt only when a source, header or this script changed.
#
# usage: build-emu.sh OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$here/src/main/cuda emu=$here/src/test/emu out=$1
cxx=${CXX:-g++}
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "[kernels] $cxx not found: not building the host emulator (libd4jemu.so); emulated CUDA tests will be skipped."
  exit 0
fi
mkdir -p "$out/gen"
. "$here/emu-flags.sh"
flags="$(emu_flags "$here") -fPIC"
key=$( { echo "$flags"; $cxx --version | head -1; cat "$0" "$here/emu-flags.sh" "$src"/*.cu "$src"/*.cuh "$emu"/*.h "$emu"/emu_lib.cpp "$emu"/fake_libcuda.cpp; } | sha256sum | cut -c1-64)
if [ -f "$out/libd4jemu.so" ] && [ "$(cat "$out/key" 2>/dev/null)" = "$key" ]; then exit 0; fi
rm -f "$out/key"
echo "[kernels] building the host emulator libd4jemu.so"
build() { # module -> object
  local m=$1 tu="$out/gen/$1.cpp"
  {
    echo "#include \"$src/$m.cu\""
    echo '#include "emu_lib.h"'
    $cxx -x c++ -E -P $flags "$src/$m.cu" | grep -oE 'extern "C"\s+void\s+\w+\s*\(' | sed -E 's/.*void\s+(\w+).*/\1/' \
      | grep -v '^d4j_emu' | sort -u | sed -E 's/(.*)/static emu::Registration reg_\1("\1", emu::entry<\&\1>, emu::param_sizes<\&\1>());/'
  } > "$tu"
  # Misaligned typed accesses in kernels stop the grid (the handlers are in emu_lib.cpp).
  $cxx $flags -fsanitize=alignment -c -o "$out/gen/$m.o" "$tu"
}
pids=()
for cu in "$src"/*.cu; do
  build "$(basename "$cu" .cu)" & pids+=($!)
done
$cxx $flags -c -o "$out/gen/emu_lib.o" "$emu/emu_lib.cpp" & pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done
$cxx -shared -o "$out/libd4jemu.so.tmp" "$out"/gen/*.o
mv "$out/libd4jemu.so.tmp" "$out/libd4jemu.so"
# fakecuda/libcuda.so.1: the driver functions JCuda calls, over the library (fake_libcuda.cpp); first
# on LD_LIBRARY_PATH it runs the backend's real JCuda path without a GPU.
mkdir -p "$out/fakecuda"
$cxx $flags -shared -Wl,-soname,libcuda.so.1 -o "$out/fakecuda/libcuda.so.1" "$emu/fake_libcuda.cpp" \
  -L"$out" -ld4jemu -Wl,-rpath,'$ORIGIN/..'
echo "$key" > "$out/key"
