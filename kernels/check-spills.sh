#!/usr/bin/env bash
# Reads the `-Xptxas -v` reports in LOG_DIR and prints one line per (kernel, arch): registers, stack
# frame, spill stores/loads, static shared memory. Fails when a hot kernel (GEMM, conv, attention,
# norms, softmax) spills registers: a spill there costs local-memory traffic in the innermost loop.
# Spills in other kernels are reported as warnings. The table goes to LOG_DIR/summary.txt; the
# console gets the spilling lines and the verdict (the whole table with D4J_KERNEL_VERBOSE=1).
#
# usage: check-spills.sh LOG_DIR
set -uo pipefail
logs=$1
hot=${D4J_HOT_KERNELS:-'^(gemm|conv|flash|attn|group_norm|layer_norm|softmax)'}
shopt -s nullglob
files=("$logs"/*.ptxas.log)
[ ${#files[@]} -gt 0 ] || { echo "[kernels] no ptxas reports in $logs"; exit 0; }
awk -v hot="$hot" '
  /Compiling entry function/ { match($0, /function .([^'"'"']+)/); fn = substr($0, RSTART + 10, RLENGTH - 10);
                               match($0, /for .sm_[0-9a-z]+/); arch = substr($0, RSTART + 5, RLENGTH - 5); next }
  /bytes stack frame/        { stack = $1; st = $5; ld = $9; next }
  /Used [0-9]+ registers/    { match($0, /Used [0-9]+ registers/); regs = substr($0, RSTART + 5, RLENGTH - 15);
                               smem = 0; if (match($0, /[0-9]+ bytes smem/)) smem = substr($0, RSTART, RLENGTH - 11);
                               printf "%-44s %-7s %5d %6d %7d %7d %7d\n", fn, arch, regs, stack, st, ld, smem;
                               if ((st > 0 || ld > 0)) { if (fn ~ hot) bad++; else warn++ } }
  BEGIN { printf "%-44s %-7s %5s %6s %7s %7s %7s\n", "kernel", "arch", "regs", "stack", "spillST", "spillLD", "smem" }
  END   { if (warn) printf "[kernels] warning: %d non-hot kernel build(s) spill registers\n", warn;
          if (bad) { printf "[kernels] FAIL: %d hot kernel build(s) spill registers (see above)\n", bad; exit 1 } }
' "${files[@]}" > "$logs/summary.txt.tmp"
status=$?
mv "$logs/summary.txt.tmp" "$logs/summary.txt"
if [ "${D4J_KERNEL_VERBOSE:-0}" = 1 ]; then cat "$logs/summary.txt"
else awk 'NR == 1 || /^\[kernels\]/ || ($5 + $6 > 0)' "$logs/summary.txt" | awk 'NR > 1 || /spill/' | grep -v '^kernel ' || true
fi
if [ "$status" -ne 0 ]; then exit "$status"; fi
echo "[kernels] no register spills in hot kernels ($(grep -c 'sm_' "$logs/summary.txt") kernel builds checked)"
