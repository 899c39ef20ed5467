#!/usr/bin/env python3
"""Joins CudaBench.java's and torch_bench.py's CSVs into one table: time per op, achieved rate,
and the ratio diffuse4j / PyTorch (below 1 = diffuse4j faster). Graph time is the kernel time.
GEMM rows also show the Java cuBLAS binding; GEMM, ff1, conv and head-dim-64 attention rows, on sm_90, the opt-in
TMA + wgmma kernels.

usage: compare.py D4J.csv TORCH.csv [--only-d4j]   (--only-d4j: just the shapes D4J.csv has)
"""
import csv
import os
import sys


def load(path):
    with open(path) as fh:
        return {(r["name"], r["dtype"]): r for r in csv.DictReader(fh)}


def main():
    if not os.path.exists(sys.argv[1]):
        print(f"compare: missing {sys.argv[1]} (see the log above for why that run failed)")
        sys.exit(1)
    d4j, torch = load(sys.argv[1]), {}
    if os.path.exists(sys.argv[2]):
        torch = load(sys.argv[2])
    else:  # still print diffuse4j's side, so its numbers are not lost with the baseline
        print(f"compare: missing {sys.argv[2]} (see the log above for why that run failed): no torch column")
    head = (f"{'op':22s} {'dt':4s} {'d4j graph':>10s} {'d4j eager':>10s} {'torch':>10s} {'ratio':>6s} {'d4j rate':>12s} "
            f"{'torch rate':>12s} {'cuBLAS/java':>11s} {'wgmma':>10s} {'wgmma rate':>12s}")
    print(head)
    print("-" * len(head))
    keys = set(d4j) if "--only-d4j" in sys.argv[3:] else set(d4j) | set(torch)
    for key in sorted(keys, key=lambda k: (k[1], (d4j.get(k) or torch.get(k))["kind"], k[0])):
        a, b = d4j.get(key), torch.get(key)
        kind = (a or b)["kind"]
        flop = float((a or b)["flop"])
        nbytes = float((a or b)["bytes"])

        def rate(ms):
            if ms is None:
                return "-"
            return f"{flop / ms / 1e9:7.1f} TF/s" if flop > 0 else f"{nbytes / ms / 1e6:7.0f} GB/s"
        g = float(a["graph_ms"]) if a else None
        e = float(a["eager_ms"]) if a else None
        t = float(b["ms"]) if b else None
        ratio = f"{g / t:6.2f}" if g and t else "     -"
        fmt = lambda x: f"{x:10.4f}" if x is not None else f"{'-':>10s}"
        cb = float(a["cublas_ms"]) if a and a.get("cublas_ms") else None
        wg = float(a["wgmma_ms"]) if a and a.get("wgmma_ms") else None
        print(f"{key[0]:22s} {key[1]:4s} {fmt(g)} {fmt(e)} {fmt(t)} {ratio} {rate(g):>12s} {rate(t):>12s} "
              f"{(f'{cb:11.4f}' if cb else f'{chr(45):>11s}')} {fmt(wg)} {rate(wg):>12s}")


if __name__ == "__main__":
    main()
