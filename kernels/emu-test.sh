#!/usr/bin/env bash
# Runs SIMT kernels on the host, without a GPU: each test in src/test/emu/*_test.cpp includes a .cu
# file and is compiled by g++ (C++20) with emu.h, which maps CUDA threads to std::threads (one block
# at a time), __syncthreads to a block barrier and warp shuffles to a per-warp exchange. Checks
# indexing, reductions and formulas of kernels that use only those features (grad.cu,
# attention_grad.cu) against double-precision references; says nothing about timing, memory model
# subtleties or tensor-core code. Not part of the Maven build (slow: a thread per CUDA thread).
#
# usage: kernels/emu-test.sh [test name, e.g. grad_test]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for t in "$here"/src/test/emu/${1:-*}*.cpp; do
  name=$(basename "$t" .cpp)
  echo "== $name"
  g++ -std=c++20 -O1 -I "$here/src/main/cuda" -I "$here/src/test/emu" -include emu.h -o "$out/$name" "$t" -lpthread
  "$out/$name" || status=1
done
exit $status
