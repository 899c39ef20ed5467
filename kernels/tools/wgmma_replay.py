#!/usr/bin/env python3
# Replays gemm_sm90.cu's tile maths without a GPU: TMA tiled loads into the 128B-swizzled stage
# ring (zero fill out of bounds), the wgmma shared-memory descriptors the consumers build (base,
# +32 bytes per k16 step, warpgroup row offset, SBO) decoded as the PTX ISA defines the K-major
# 128B-swizzle canonical layout, the m64nNk16 accumulator fragments, and the epilogue's
# (row, column) of each fragment with bias, residual and bounds checks. Compares a whole launch
# (every block, several batches, a broadcast operand, partial tiles in M, N and K) with numpy's
# product. Models of the hardware come from the ISA/cuda.h; the kernel constants below are
# mirrored from gemm_sm90.cu: keep them in step. Run by FragmentReplayTest.
import numpy as np

BM, BN, BK, STAGES = 128, 128, 64, 3
A_BYTES, B_BYTES = BM * BK * 2, BN * BK * 2
STAGE_BYTES = A_BYTES + B_BYTES
SMEM = STAGES * STAGE_BYTES + 1024


def swizzle128(addr):
    # 128B swizzle (TMA CU_TENSOR_MAP_SWIZZLE_128B and wgmma layout type 1): address bits [4:6]
    # XOR bits [7:9], i.e. the 16-byte chunk within a 128-byte row XOR the row within 8 rows.
    return addr ^ (((addr >> 7) & 7) << 4)


def tma_load(smem, dst, tensor, c0, c1, c2, box_k, box_rows):
    # cp.async.bulk.tensor.3d: box {box_k, box_rows, 1} at coordinates (k, row, batch) of a
    # [batches][rows][K] tensor; elements outside read as zero; row r, element c of the box lands
    # at dst + r * box_k * 2 + 2c, swizzled (dst is 1024-byte aligned).
    assert dst % 1024 == 0
    nb, rows, K = tensor.shape
    for r in range(box_rows):
        for c in range(box_k):
            row, k = c1 + r, c0 + c
            v = tensor[c2, row, k] if (0 <= c2 < nb and row < rows and k < K) else 0.0
            smem[swizzle128(dst + r * box_k * 2 + 2 * c) // 2] = v


def desc_operand(smem, desc, rows):
    # K-major operand of a wgmma with k16 read through a descriptor: start address bits 0-13
    # (>> 4), stride byte offset bits 32-45 (>> 4) from one 8-row group to the next, layout type
    # bits 62-63 (1 = 128B swizzle), rows of 128 bytes inside each group.
    assert desc >> 62 == 1, "not a 128B-swizzle descriptor"
    start = (desc & 0x3FFF) << 4
    sbo = ((desc >> 32) & 0x3FFF) << 4
    out = np.zeros((rows, 16))
    for i in range(rows):
        for k in range(16):
            out[i, k] = smem[swizzle128(start + (i // 8) * sbo + (i % 8) * 128 + 2 * k) // 2]
    return out


def sw128_desc(saddr):  # sm90.cuh
    return ((saddr & 0x3FFFF) >> 4) | (1 << 16) | ((1024 >> 4) << 32) | (1 << 62)


def fragments(D):
    # m64nNk16 F32 accumulators: thread t = 32w + lane holds d[4j + 2h + e] =
    # D[16w + lane/4 + 8h, 8j + 2(lane%4) + e].
    n = D.shape[1]
    d = np.zeros((128, n // 2))
    for t in range(128):
        w, lane = t // 32, t % 32
        for j in range(n // 8):
            for h in range(2):
                for e in range(2):
                    d[t, 4 * j + 2 * h + e] = D[16 * w + lane // 4 + 8 * h, 8 * j + 2 * (lane % 4) + e]
    return d


def launch(A, B, bias, R, beta, batchA, batchB, nb):
    _, M, K = A.shape
    N = B.shape[1]
    C = np.full((nb, M, N), np.nan)
    ring = 1024  # the kernel rounds its dynamic shared memory base up to 1024 bytes
    KT = (K + BK - 1) // BK
    for z in range(nb):
        for by in range((M + BM - 1) // BM):
            for bx in range((N + BN - 1) // BN):
                m0, n0 = by * BM, bx * BN
                smem = np.zeros((ring + SMEM) // 2)
                acc = [np.zeros((128, 64)) for _ in range(2)]  # per consumer warpgroup: thread x 64 floats
                zA, zB = (0 if batchA == 1 else z), (0 if batchB == 1 else z)
                for kt in range(KT):
                    s = kt % STAGES
                    a = ring + s * STAGE_BYTES
                    tma_load(smem, a, A, kt * BK, m0, zA, BK, BM)
                    tma_load(smem, a + A_BYTES, B, kt * BK, n0, zB, BK, BN)
                    for g in range(2):
                        da = sw128_desc(a + g * 64 * (BK * 2))
                        db = sw128_desc(a + A_BYTES)
                        D = np.zeros((64, 128))
                        for kk in range(BK // 16):
                            D += desc_operand(smem, da + 2 * kk, 64) @ desc_operand(smem, db + 2 * kk, 128).T
                        acc[g] += fragments(D)
                # epilogue, as gemm_sm90.cu writes it
                for g in range(2):
                    for t in range(128):
                        warp, lane = 4 * g + t // 32, t % 32
                        row0 = m0 + g * 64 + (warp & 3) * 16 + (lane >> 2)
                        d = acc[g][t]
                        for j in range(16):
                            n = n0 + j * 8 + 2 * (lane & 3)
                            if n >= N:
                                continue
                            second = n + 1 < N
                            b0 = bias[n] if bias is not None else 0.0
                            b1 = bias[n + 1] if (bias is not None and second) else 0.0
                            for h in range(2):
                                m = row0 + 8 * h
                                if m >= M:
                                    continue
                                v0, v1 = d[4 * j + 2 * h] + b0, d[4 * j + 2 * h + 1] + b1
                                if R is not None:
                                    v0 += beta * R[z, m, n]
                                    if second:
                                        v1 += beta * R[z, m, n + 1]
                                C[z, m, n] = v0
                                if second:
                                    C[z, m, n + 1] = v1
    return C


def main():
    rng = np.random.default_rng(3)
    cases = [  # nb, M, N, K, broadcast A, broadcast B, bias, residual
        (2, 131, 136, 72, False, False, True, True),   # partial tiles in M and K, 2 k-tiles
        (2, 70, 133, 200, False, True, False, False),  # odd N, B broadcast, ring wraps (4 k-tiles, 3 stages)
        (2, 129, 8, 8, True, False, True, False),      # K = 8: less than one k16 step, the rest zero-filled; A broadcast
    ]
    for nb, M, N, K, bcA, bcB, with_bias, with_r in cases:
        A = rng.standard_normal((1 if bcA else nb, M, K)).round(2)
        B = rng.standard_normal((1 if bcB else nb, N, K)).round(2)
        bias = rng.standard_normal(N).round(2) if with_bias else None
        R = rng.standard_normal((nb, M, N)).round(2) if with_r else None
        beta = 0.5
        ref = np.stack([A[0 if bcA else z] @ B[0 if bcB else z].T for z in range(nb)])
        if bias is not None:
            ref = ref + bias
        if R is not None:
            ref = ref + beta * R
        got = launch(A, B, bias, R, beta, 1 if bcA else nb, 1 if bcB else nb, nb)
        assert not np.isnan(got).any(), "an output element was never written"
        err = np.abs(got - ref).max()
        print(f"wgmma nb={nb} {M}x{N}x{K} max abs err {err:.2e}")
        assert err < 1e-9
    print("wgmma fragments OK")


if __name__ == "__main__":
    main()
