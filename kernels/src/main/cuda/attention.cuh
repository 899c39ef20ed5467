// Parameters of the attention kernels (DESIGN §3), passed by value. Logits are kept in the log2
// domain: x = (q.k) * scaleLog2 + biasLog2 with scaleLog2 = softmax_scale * c_j * log2(e), so the
// softmax is exp2(x - max). The saved log-sum-exp is in the same units.
#pragma once
#include "common.cuh"
#include "mma.cuh"  // pack2

#define ATT_MAX_SEG 4
#define ATT_MAX_B 64

struct AttnSeg {
    const void* k; const void* v;
    long long kTok, kBatch, vTok, vBatch;  // strides in elements
    int nk;
    float scaleLog2, biasLog2;
    int pad_;
};

struct AttnParams {
    const void* q; long long qTok, qBatch;
    void* out; long long oTok, oBatch;  // T [B, Nq, H*D], or F32 when accumulate != 0
    float* lse;                          // [B, H, Nq] log2 units, or null
    // AdaIN as per-(item, channel) affines [B, H*D] (x * a + c), or null: queries, and the keys /
    // values of segment 0 as seen by query item b.
    const float* qa; const float* qc; const float* ka; const float* kc; const float* va; const float* vc;
    int B, H, D, nq;
    int nseg, causal, accumulate, pad_;
    AttnSeg seg[ATT_MAX_SEG];
    short map[ATT_MAX_SEG][ATT_MAX_B];  // K/V row of segment j used by query item b; -1: absent
    float weight[ATT_MAX_B];            // accumulate mode: out += weight[b] * attention
};

// Mirrored by CudaAttention.params in the Java backend.
static_assert(sizeof(AttnSeg) == 64, "AttnSeg layout");
static_assert(sizeof(AttnParams) == 1160 && offsetof(AttnParams, lse) == 48 && offsetof(AttnParams, B) == 104 &&
              offsetof(AttnParams, nseg) == 120 && offsetof(AttnParams, seg) == 136 && offsetof(AttnParams, map) == 392 &&
              offsetof(AttnParams, weight) == 904, "AttnParams layout");

// Walks the (segment, key tile) pairs of the BQ-query tile at q0 for one item b, in tiles of BK
// keys: segments absent for the item are skipped; causal stops at the tile holding the last query.
template <int BQ, int BK> struct KvTiles {
    int seg, tile;
    __device__ __forceinline__ bool valid(const AttnParams& p) const { return seg < p.nseg; }
    __device__ __forceinline__ int tilesIn(const AttnParams& p, int s, int q0) const {
        int n = (p.seg[s].nk + BK - 1) / BK;
        if (p.causal) n = min(n, (min(q0 + BQ, p.nq) + BK - 1) / BK);
        return n;
    }
    __device__ __forceinline__ void skipAbsent(const AttnParams& p, int b, int q0) {
        while (seg < p.nseg && (p.map[seg][b] < 0 || tile >= tilesIn(p, seg, q0))) { seg++; tile = 0; }
    }
    __device__ __forceinline__ void next(const AttnParams& p, int b, int q0) { tile++; skipAbsent(p, b, q0); }
    // The first pair for item b.
    static __device__ __forceinline__ KvTiles first(const AttnParams& p, int b, int q0) {
        KvTiles c{0, 0};
        c.skipAbsent(p, b, q0);
        return c;
    }
};

// Tail of the kernels: write one output element (or accumulate into the F32 buffer).
template <typename T>
__device__ __forceinline__ void attn_store(const AttnParams& p, int b, int q, int col, float v) {
    if (p.accumulate) {
        float* o = static_cast<float*>(p.out) + b * p.oBatch + (long long)q * p.oTok + col;
        *o += p.weight[b] * v;
    } else {
        T* o = static_cast<T*>(p.out) + b * p.oBatch + (long long)q * p.oTok + col;
        *o = from_f32<T>(v);
    }
}

// The flash kernels' per-thread fragments: the accumulator layout of mma.m16n8 and of wgmma's
// m64nN (F32), which both kernels keep as [n8 block][4]: a thread holds two query rows (lane / 4
// and lane / 4 + 8 of its warp's 16), in x[j][2 hr + e] the row hr at column 8j + 2 (lane % 4) + e.

// One key tile of the online softmax, in log2 units: sc holds the raw q.k of the rows at queries
// qrow and qrow + 8 against keys kt0 + column. Keys past the segment (and after the query when
// causal) are masked; sc becomes the unnormalised probabilities exp2(x - running max); the running
// max and this thread's partial sums (reduced over the quad in attn_finish) are updated, and alpha
// receives the factor each row's accumulator must be rescaled by.
template <int NJ>
__device__ __forceinline__ void softmax_tile(float (*sc)[4], const AttnParams& p, const AttnSeg& s, int kt0, int qrow,
                                             float (&mrow)[2], float (&lrow)[2], float (&alpha)[2]) {
    const int lane = threadIdx.x & 31;
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
        const int qi = qrow + hr * 8;
        float mx = -INFINITY;
#pragma unroll
        for (int j = 0; j < NJ; j++)
#pragma unroll
            for (int e = 0; e < 2; e++) {
                const int key = kt0 + j * 8 + 2 * (lane & 3) + e;
                float x = sc[j][2 * hr + e] * s.scaleLog2 + s.biasLog2;
                if (key >= s.nk || (p.causal && key > qi)) x = -INFINITY;
                sc[j][2 * hr + e] = x;
                mx = fmaxf(mx, x);
            }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float mnew = fmaxf(mrow[hr], mx);
        const float muse = mnew == -INFINITY ? 0.f : mnew;
        alpha[hr] = exp2f(mrow[hr] - muse);
        mrow[hr] = mnew;
        float sum = 0.f;
#pragma unroll
        for (int j = 0; j < NJ; j++)
#pragma unroll
            for (int e = 0; e < 2; e++) {
                const float pv = exp2f(sc[j][2 * hr + e] - muse);
                sc[j][2 * hr + e] = pv;
                sum += pv;
            }
        lrow[hr] = lrow[hr] * alpha[hr] + sum;
    }
}

// Keys 16kk..16kk+15 of the probabilities as the A fragment of a k16 MMA (mma.m16n8k16, or wgmma
// with A in registers): the accumulator layout of two n8 blocks is the A layout of one k16 step.
template <typename T>
__device__ __forceinline__ void p_fragment(const float (*sc)[4], int kk, uint32_t (&a)[4]) {
    a[0] = pack2<T>(sc[2 * kk][0], sc[2 * kk][1]);
    a[1] = pack2<T>(sc[2 * kk][2], sc[2 * kk][3]);
    a[2] = pack2<T>(sc[2 * kk + 1][0], sc[2 * kk + 1][1]);
    a[3] = pack2<T>(sc[2 * kk + 1][2], sc[2 * kk + 1][3]);
}

// Epilogue: normalises the two rows (queries qrow, qrow + 8) by their sums, writes them (head h,
// channels < D) and their log-sum-exp when asked.
template <typename T, int NDT>
__device__ __forceinline__ void attn_finish(const AttnParams& p, int b, int h, int qrow, const float (&mrow)[2], const float (&lrow)[2],
                                            const float (*o)[4]) {
    const int lane = threadIdx.x & 31, D = p.D;
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
        float l = lrow[hr];
        l += __shfl_xor_sync(0xffffffffu, l, 1);
        l += __shfl_xor_sync(0xffffffffu, l, 2);
        const int qi = qrow + hr * 8;
        if (qi >= p.nq) continue;
        const float inv = l > 0.f ? 1.f / l : 0.f;
        if (p.lse && (lane & 3) == 0)
            p.lse[((long long)b * p.H + h) * p.nq + qi] = l > 0.f ? mrow[hr] + log2f(l) : -INFINITY;
#pragma unroll
        for (int j = 0; j < NDT; j++) {
            const int d = j * 8 + 2 * (lane & 3);
            if (d < D) attn_store<T>(p, b, qi, h * D + d, o[j][2 * hr] * inv);
            if (d + 1 < D) attn_store<T>(p, b, qi, h * D + d + 1, o[j][2 * hr + 1] * inv);
        }
    }
}
