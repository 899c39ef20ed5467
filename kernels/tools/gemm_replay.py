#!/usr/bin/env python3
# Emulates, from the PTX ISA's definitions, ldmatrix (x4, .trans) and mma.m16n8k16 fragments,
# and replays gemm.cuh's tile index maths (swizzles, loads, fragment loads, epilogue) to check
# that one block computes A @ B^T (nt) or A @ B (nn), and that the ldmatrix phases hit 8
# distinct bank groups. No GPU needed: run by FragmentReplayTest (numpy) when the formulas in
# gemm.cuh change, keep this replay in step.
import numpy as np

def ldsm(smem, addrs, trans):
    # addrs: 32 element offsets (row starts); returns regs[lane][i] = (lo, hi)
    regs = [[None]*4 for _ in range(32)]
    for i in range(4):
        M = np.array([smem[addrs[8*i + j]: addrs[8*i + j] + 8] for j in range(8)])
        for t in range(32):
            r, c = t // 4, 2 * (t % 4)
            regs[t][i] = (M[c][r], M[c+1][r]) if trans else (M[r][c], M[r][c+1])
    return regs

def mma(acc, a, b0, b1):
    # acc[lane] = [c0..c3]; a[lane] = 4 pairs; b0/b1[lane] = pairs
    A = np.zeros((16, 16)); B = np.zeros((16, 8)); C = np.zeros((16, 8))
    for t in range(32):
        g, q = t // 4, t % 4
        A[g, 2*q:2*q+2] = a[t][0]; A[g+8, 2*q:2*q+2] = a[t][1]
        A[g, 2*q+8:2*q+10] = a[t][2]; A[g+8, 2*q+8:2*q+10] = a[t][3]
        B[2*q:2*q+2, g] = b0[t]; B[2*q+8:2*q+10, g] = b1[t]
        C[g, 2*q:2*q+2] = acc[t][0:2]; C[g+8, 2*q:2*q+2] = acc[t][2:4]
    D = A @ B + C
    for t in range(32):
        g, q = t // 4, t % 4
        acc[t] = [D[g, 2*q], D[g, 2*q+1], D[g+8, 2*q], D[g+8, 2*q+1]]

BK = 32
def swz_k(row, chunk): return row * BK + ((chunk ^ ((row >> 1) & 3)) << 3)
def swz_n(BN, k, chunk): return k * BN + ((chunk ^ (k & 7)) << 3)

def gemm_block(A, B, kmajor, BM, BN, WM, WN):
    M, K = A.shape
    N = B.shape[0] if kmajor else B.shape[1]
    WARPS = (BM // WM) * (BN // WN); THREADS = WARPS * 32
    MT, NT = WM // 16, WN // 8
    out = np.full((M, N), np.nan)
    for bm in range(0, M, BM):
        for bn in range(0, N, BN):
            acc = [[[[0.0]*4 for _ in range(32)] for _ in range(NT)] for _ in range(MT * WARPS)]
            for k0 in range(0, K, BK):
                sa = np.full(BM * BK, np.nan); sb = np.full(BN * BK, np.nan)
                for tid in range(THREADS):
                    for i in range(BM * BK // 8 // THREADS):
                        id_ = tid + i * THREADS; r, c = id_ // 4, id_ % 4
                        m, k = bm + r, k0 + c * 8
                        sa[swz_k(r, c): swz_k(r, c) + 8] = A[m, k:k+8] if m < M and k < K else 0
                    for i in range(BN * BK // 8 // THREADS):
                        id_ = tid + i * THREADS
                        if kmajor:
                            r, c = id_ // 4, id_ % 4; n, k = bn + r, k0 + c * 8
                            sb[swz_k(r, c): swz_k(r, c) + 8] = B[n, k:k+8] if n < N and k < K else 0
                        else:
                            CPR = BN // 8; r, c = id_ // CPR, id_ % CPR; k, n = k0 + r, bn + c * 8
                            sb[swz_n(BN, r, c): swz_n(BN, r, c) + 8] = B[k, n:n+8] if k < K and n < N else 0
                assert not np.isnan(sa).any() and not np.isnan(sb).any(), "smem tile not fully written"
                for warp in range(WARPS):
                    wm, wn = warp // (BN // WN), warp % (BN // WN)
                    for kk in (0, 16):
                        af = [ldsm(sa, [swz_k(wm*WM + i*16 + (l & 15), (kk >> 3) + (l >> 4)) for l in range(32)], False) for i in range(MT)]
                        bf = [None] * NT
                        for j in range(0, NT, 2):
                            if kmajor:
                                addrs = [swz_k(wn*WN + j*8 + (l & 7) + ((l >> 4) << 3), (kk >> 3) + ((l >> 3) & 1)) for l in range(32)]
                                r4 = ldsm(sb, addrs, False)
                            else:
                                addrs = [swz_n(BN, kk + (l & 15), ((wn*WN + j*8) >> 3) + (l >> 4)) for l in range(32)]
                                r4 = ldsm(sb, addrs, True)
                            bf[j] = ([r4[l][0] for l in range(32)], [r4[l][1] for l in range(32)])
                            bf[j+1] = ([r4[l][2] for l in range(32)], [r4[l][3] for l in range(32)])
                        for i in range(MT):
                            for j in range(NT):
                                mma(acc[warp*MT + i][j], af[i], bf[j][0], bf[j][1])
            for warp in range(WARPS):
                wm, wn = warp // (BN // WN), warp % (BN // WN)
                for i in range(MT):
                    for j in range(NT):
                        for l in range(32):
                            n = bn + wn*WN + j*8 + 2*(l & 3)
                            for h in range(2):
                                m = bm + wm*WM + i*16 + (l >> 2) + h*8
                                if m >= M: continue
                                if n < N: out[m, n] = acc[warp*MT+i][j][l][2*h]
                                if n + 1 < N: out[m, n+1] = acc[warp*MT+i][j][l][2*h+1]
    return out

def bank_conflicts(addr_bytes):
    # 8 lanes of one ldmatrix phase read 16 bytes each: conflict-free iff the 8 16-byte units differ mod 8
    return len(set((a // 16) % 8 for a in addr_bytes)) != 8

def main():
    rng = np.random.default_rng(1)
    for kmajor in (True, False):
        for (BM, BN, WM, WN) in ((128, 128, 64, 32), (64, 64, 32, 32)):
            M, K, N = BM + 3, 40, (BN + 8 if not kmajor else BN + 5)
            A = rng.standard_normal((M, K)).round(2)
            B = rng.standard_normal((N, K) if kmajor else (K, N)).round(2)
            ref = A @ (B.T if kmajor else B)
            got = gemm_block(A, B, kmajor, BM, BN, WM, WN)
            err = np.abs(got - ref).max()
            print(("nt" if kmajor else "nn"), BM, "max abs err", err)
            assert err < 1e-9
    # bank conflicts of the ldmatrix phases
    for r0 in range(0, 128, 8):
        for c in range(4):
            assert not bank_conflicts([2 * swz_k(r0 + j, c) for j in range(8)]), ("A/Bk conflict", r0, c)
    for BN in (64, 128):
        for k0 in range(0, 32, 8):
            for c in range(BN // 8):
                assert not bank_conflicts([2 * swz_n(BN, k0 + j, c) for j in range(8)]), ("Bn conflict", BN, k0, c)
    print("gemm fragments OK, ldmatrix phases conflict-free")


if __name__ == "__main__":
    main()
