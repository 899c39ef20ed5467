#!/usr/bin/env bash
# Runs kernels on the host, without a GPU: each test in src/test/emu/*_test.cpp includes .cu files
# and is compiled by g++ (C++20) with emu.h (CUDA threads as fibers, barriers, warp shuffles) and
# emu_tc.h (cp.async, ldmatrix and mma.sync as the PTX ISA defines them), emu_sm90.h (mbarriers,
# TMA, cp.async into a stage, wgmma; sm90.cuh includes it) and checks the kernels'
# results against double-precision references. Says nothing about timing or the memory model
# beyond barriers. Part of the kernels module's `test` phase; skipped where g++ is missing.
#
# usage: kernels/emu-test.sh [test name prefix, e.g. gemm]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cxx=${CXX:-g++}
if ! command -v "$cxx" >/dev/null 2>&1; then echo "[kernels] $cxx not found: emulated kernel tests skipped"; exit 0; fi
. "$here/emu-flags.sh"
flags=$(emu_flags "$here")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for t in "$here"/src/test/emu/${1:-}*_test.cpp; do
  name=$(basename "$t" .cpp)
  echo "== $name"
  "$cxx" $flags -o "$out/$name" "$t"
  "$out/$name" || status=1
  # Again with the other orders: copies landing at issue, threads scheduled last-first.
  D4J_EMU_CP_ASYNC=eager D4J_EMU_SCHEDULE=reverse "$out/$name" > "$out/$name.stress.log" 2>&1 \
    && echo "   (again with eager copies, reverse schedule: ok)" || { cat "$out/$name.stress.log"; echo "   FAILED with eager copies, reverse schedule"; status=1; }
done
exit $status
