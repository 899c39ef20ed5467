#!/usr/bin/env python3
"""PyTorch baseline for bench/gpu/shapes.txt: cuBLAS (F.linear), cuDNN (conv2d, channels_last),
F.scaled_dot_product_attention restricted to the flash backend, group_norm(+silu), layer_norm.
Times with CUDA events, median of 7 samples of >= 20 ms each, like CudaBench.java.

usage: torch_bench.py SHAPES OUT.csv [dtypes, default f16,bf16]
"""
import csv
import statistics
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

torch.backends.cudnn.benchmark = True
torch.backends.cuda.matmul.allow_tf32 = False


def timed(fn):
    fn()
    torch.cuda.synchronize()
    reps = 1
    while True:
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(reps):
            fn()
        e.record()
        torch.cuda.synchronize()
        if s.elapsed_time(e) > 20 or reps >= 1 << 14:
            break
        reps *= 2
    samples = []
    for _ in range(7):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(reps):
            fn()
        e.record()
        torch.cuda.synchronize()
        samples.append(s.elapsed_time(e) / reps)
    return statistics.median(samples)


def rand(*shape, dtype):
    return torch.rand(*shape, device="cuda", dtype=torch.float32).mul_(2).sub_(1).to(dtype)


def case(f, dtype):
    kind, name = f[0], f[1]
    n = [int(x) for x in f[2:]]
    es = torch.finfo(dtype).bits // 8
    if kind == "gemm":
        M, K, N = n
        x, w = rand(M, K, dtype=dtype), rand(N, K, dtype=dtype)
        return (lambda: F.linear(x, w)), 2.0 * M * N * K, es * (M * K + N * K + M * N)
    if kind == "ff1":
        # diffusers' GEGLU: proj, chunk, value * gelu(gate)
        M, K, inner = n
        x, w, b = rand(M, K, dtype=dtype), rand(2 * inner, K, dtype=dtype), rand(2 * inner, dtype=dtype)

        def run():
            v, g = F.linear(x, w, b).chunk(2, dim=-1)
            return v * F.gelu(g)
        return run, 2.0 * M * 2 * inner * K, es * (M * K + 2 * inner * K + M * inner)
    if kind == "conv":
        B, H, W, ci, co, k, s, p = n
        x = rand(B, ci, H, W, dtype=dtype).to(memory_format=torch.channels_last)
        w = rand(co, ci, k, k, dtype=dtype).to(memory_format=torch.channels_last)
        b = rand(co, dtype=dtype)
        ho, wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
        return (lambda: F.conv2d(x, w, b, stride=s, padding=p)), 2.0 * B * ho * wo * co * k * k * ci, \
            es * (B * H * W * ci + co * k * k * ci + B * ho * wo * co)
    if kind == "attn":
        B, H, nq, nk, D = n
        # Same memory layout as diffuse4j: [B, N, H*D], viewed as [B, H, N, D].
        q = rand(B, nq, H * D, dtype=dtype).view(B, nq, H, D).transpose(1, 2)
        k = rand(B, nk, H * D, dtype=dtype).view(B, nk, H, D).transpose(1, 2)
        v = rand(B, nk, H * D, dtype=dtype).view(B, nk, H, D).transpose(1, 2)

        def run():
            with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                return F.scaled_dot_product_attention(q, k, v)
        return run, 4.0 * B * H * nq * nk * D, es * B * H * D * (2 * nq + 2 * nk)
    if kind == "gn":
        B, H, W, C, G = n
        x = rand(B, C, H, W, dtype=dtype).to(memory_format=torch.channels_last)
        g, b = rand(C, dtype=dtype), rand(C, dtype=dtype)
        return (lambda: F.silu(F.group_norm(x, G, g, b, 1e-5))), 0.0, 3.0 * es * B * H * W * C
    if kind == "ln":
        R, C = n
        x, g, b = rand(R, C, dtype=dtype), rand(C, dtype=dtype), rand(C, dtype=dtype)
        return (lambda: F.layer_norm(x, (C,), g, b, 1e-5)), 0.0, 2.0 * es * R * C
    raise ValueError(f"unknown kind {kind}")


def main():
    shapes, out = sys.argv[1], sys.argv[2]
    dtypes = (sys.argv[3] if len(sys.argv) > 3 else "f16,bf16").split(",")
    print(f"[torch] {torch.__version__} on {torch.cuda.get_device_name()}, cuDNN {torch.backends.cudnn.version()}", flush=True)
    rows = []
    for dt in dtypes:
        dtype = torch.bfloat16 if dt == "bf16" else torch.float16
        for line in open(shapes):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            f = line.split()
            try:
                fn, flop, nbytes = case(f, dtype)
                ms = timed(fn)
                rows.append([f[1], f[0], dt, flop, nbytes, ms])
                print(f"[torch] {f[1]:20s} {dt:5s} {ms:9.4f} ms  {flop / ms / 1e9:8.1f} TFLOP/s  {nbytes / ms / 1e6:7.0f} GB/s", flush=True)
            except Exception as e:  # a backend that refuses a shape (e.g. flash head dim) is reported, not fatal
                print(f"[torch] {f[1]} {dt} FAILED: {e}", flush=True)
            torch.cuda.empty_cache()
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "kind", "dtype", "flop", "bytes", "ms"])
        w.writerows(rows)


if __name__ == "__main__":
    main()
