#!/usr/bin/env python3
# Replays attention.cu's flash_impl index maths for one (item, head, query tile) with the PTX
# fragment semantics of gemm_replay.py, several key tiles, a partial last tile, causal or not,
# against numpy softmax attention and log-sum-exp. Keep in step with attention.cu.
import numpy as np
from gemm_replay import ldsm, mma, bank_conflicts

def flash_tile(Q, K, V, q0, DP, scale, causal):
    nq, D = Q.shape; nk = K.shape[0]
    LD = DP + 8
    sQ = np.zeros(64 * LD)
    for r in range(64):
        for c in range(DP // 8):
            if q0 + r < nq and c * 8 < D: sQ[r*LD + c*8: r*LD + c*8 + 8] = Q[q0 + r, c*8:c*8+8]
    sl2 = scale * np.log2(np.e)
    out = np.full((64, D), np.nan); lse = np.full(64, np.nan)
    ntiles = (nk + 63) // 64
    if causal: ntiles = min(ntiles, (min(q0 + 64, nq) + 63) // 64)
    for warp in range(4):
        o = [[[0.0]*4 for _ in range(32)] for _ in range(DP // 8)]
        mrow = [[-np.inf]*2 for _ in range(32)]; lrow = [[0.0]*2 for _ in range(32)]
        for tile in range(ntiles):
            sK = np.zeros(64 * LD); sV = np.zeros(64 * LD)
            for r in range(64):
                for c in range(DP // 8):
                    if tile*64 + r < nk and c * 8 < D:
                        sK[r*LD + c*8: r*LD + c*8 + 8] = K[tile*64 + r, c*8:c*8+8]
                        sV[r*LD + c*8: r*LD + c*8 + 8] = V[tile*64 + r, c*8:c*8+8]
            sc = [[[0.0]*4 for _ in range(32)] for _ in range(8)]
            for kd in range(DP // 16):
                a = ldsm(sQ, [(warp*16 + (l & 15))*LD + kd*16 + (l >> 4)*8 for l in range(32)], False)
                for j in range(0, 8, 2):
                    r = ldsm(sK, [(j*8 + (l & 7) + ((l >> 4) << 3))*LD + kd*16 + ((l >> 3) & 1)*8 for l in range(32)], False)
                    mma(sc[j], a, [r[l][0] for l in range(32)], [r[l][1] for l in range(32)])
                    mma(sc[j+1], a, [r[l][2] for l in range(32)], [r[l][3] for l in range(32)])
            kt0 = tile * 64
            alpha = [[0, 0] for _ in range(32)]
            for hr in range(2):
                # per quad: max over the 4 lanes sharing the rows
                mx = [-np.inf]*32
                for l in range(32):
                    qi = q0 + warp*16 + (l >> 2) + hr*8
                    for j in range(8):
                        for e in range(2):
                            key = kt0 + j*8 + 2*(l & 3) + e
                            x = sc[j][l][2*hr+e] * sl2
                            if key >= nk or (causal and key > qi): x = -np.inf
                            sc[j][l][2*hr+e] = x
                            mx[l] = max(mx[l], x)
                for l in range(32):
                    quad = [mx[(l & ~3) + i] for i in range(4)]
                    m = max(quad)
                    mnew = max(mrow[l][hr], m); muse = 0.0 if mnew == -np.inf else mnew
                    alpha[l][hr] = 2.0 ** (mrow[l][hr] - muse); mrow[l][hr] = mnew
                    s = 0.0
                    for j in range(8):
                        for e in range(2):
                            pv = 2.0 ** (sc[j][l][2*hr+e] - muse); sc[j][l][2*hr+e] = pv; s += pv
                    lrow[l][hr] = lrow[l][hr] * alpha[l][hr] + s
            for j in range(DP // 8):
                for l in range(32):
                    o[j][l][0] *= alpha[l][0]; o[j][l][1] *= alpha[l][0]
                    o[j][l][2] *= alpha[l][1]; o[j][l][3] *= alpha[l][1]
            for kk in range(4):
                a = [((sc[2*kk][l][0], sc[2*kk][l][1]), (sc[2*kk][l][2], sc[2*kk][l][3]),
                      (sc[2*kk+1][l][0], sc[2*kk+1][l][1]), (sc[2*kk+1][l][2], sc[2*kk+1][l][3])) for l in range(32)]
                for dn in range(0, DP // 8, 2):
                    r = ldsm(sV, [(kk*16 + (l & 15))*LD + dn*8 + (l >> 4)*8 for l in range(32)], True)
                    mma(o[dn], a, [r[l][0] for l in range(32)], [r[l][1] for l in range(32)])
                    mma(o[dn+1], a, [r[l][2] for l in range(32)], [r[l][3] for l in range(32)])
        for hr in range(2):
            for l in range(32):
                L = sum(lrow[(l & ~3) + i][hr] for i in range(4))
                row = warp*16 + (l >> 2) + hr*8
                if q0 + row >= nq: continue
                if (l & 3) == 0: lse[row] = mrow[l][hr] + np.log2(L)
                for j in range(DP // 8):
                    d = j*8 + 2*(l & 3)
                    if d < D: out[row, d] = o[j][l][2*hr] / L
                    if d + 1 < D: out[row, d+1] = o[j][l][2*hr+1] / L
    return out, lse

def main():
    rng = np.random.default_rng(2)
    for (D, DP, nq, nk, q0, causal) in ((40, 48, 70, 100, 0, False), (64, 64, 130, 130, 64, True), (80, 80, 64, 77, 0, False), (24, 32, 100, 100, 64, True)):
        Q = rng.standard_normal((nq, D)); K = rng.standard_normal((nk, D)); V = rng.standard_normal((nk, D))
        scale = 1 / np.sqrt(D)
        S = Q @ K.T * scale
        if causal: S = np.where(np.arange(nk)[None, :] > np.arange(nq)[:, None], -np.inf, S)
        P = np.exp(S - S.max(1, keepdims=True)); ref = (P / P.sum(1, keepdims=True)) @ V
        ref_lse = (S.max(1) + np.log(np.exp(S - S.max(1, keepdims=True)).sum(1))) * np.log2(np.e)
        out, lse = flash_tile(Q, K, V, q0, DP, scale, causal)
        rows = min(64, nq - q0)
        err = np.abs(out[:rows] - ref[q0:q0+rows]).max(); lerr = np.abs(lse[:rows] - ref_lse[q0:q0+rows]).max()
        print(f"D={D} DP={DP} nq={nq} nk={nk} q0={q0} causal={causal}: max abs err {err:.2e}, lse err {lerr:.2e}")
        assert err < 1e-9 and lerr < 1e-9
    for DP in (32, 48, 64, 80, 128, 160):
        LD = DP + 8
        for c in range(DP // 8):
            assert not bank_conflicts([2 * (r * LD + c * 8) for r in range(8)]), DP
    print("flash fragments OK, padded rows conflict-free")


if __name__ == "__main__":
    main()
