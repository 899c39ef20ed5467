// Reverse mode of the attention op (DESIGN §3), joint and stratified, on CUDA cores, F32 (the host casts Q, K, V and
// dO to F32 contiguous [rows, N, H*D]). Supports every segment layout of the forward (broadcast
// rows, item maps with absent items), per-segment logit scale c_j and bias b_j, causal masking,
// and a gradient of the captured head-averaged map (dP += dMaps/H on that segment's keys). AdaIN
// is not handled here (the host runs it).
//
// Stratified mode, out = sum_j f_j(b) softmax_j V_j, is one set of passes per segment (p holding that
// segment alone, p.accumulate = 1, p.weight[b] = f_j(b)): each segment's softmax sees dO scaled by
// its weight, and dq accumulates over the segments' launches (in order: deterministic).
//
// With x = s c_j q.k + b_j (natural units; the kernels keep log2 units as the forward does),
// P = softmax over every present key, O = P V:
//   dP = dO V^T (+ G on the captured segment),  D = rowsum(P * dP) = dO.O + rowsum(P * G),
//   dS = P (dP - D),  dQ = sum_keys s c_j dS K,  dK = sum_queries s c_j dS Q,  dV = sum_queries P dO.
// Three passes, each thread writes only its own outputs (no atomics, deterministic):
//   attn_bwd_prep  one warp per query row: online softmax over all keys -> lse and D;
//   attn_bwd_dq    one warp per query row: recomputes P and dP per key, accumulates dQ;
//   attn_bwd_dkv   one warp per key row of one segment: visits, in item order, every item that reads
//                  the row and every query it reaches, accumulating dK and dV (a broadcast or mapped
//                  row receives the sum over its readers).
// Lanes own head channels lane, lane+32, ... (D <= 256); dot products are warp sums.
#include "attention.cuh"

constexpr int AG_DMAX = 256, AG_PER_LANE = AG_DMAX / 32;
constexpr float AG_LN2 = 0.69314718055994531f;

// Row helpers: this lane's channels of a [*, H*D] row into registers.
__device__ __forceinline__ void ag_load(float (&r)[AG_PER_LANE], const float* row, int D, int lane) {
#pragma unroll
    for (int i = 0; i < AG_PER_LANE; i++) {
        int d = lane + 32 * i;
        r[i] = d < D ? row[d] : 0.f;
    }
}

__device__ __forceinline__ float ag_dot(const float (&a)[AG_PER_LANE], const float* row, int D, int lane) {
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < AG_PER_LANE; i++) {
        int d = lane + 32 * i;
        if (d < D) s = fmaf(a[i], row[d], s);
    }
    return warp_sum(s);
}

// The map gradient G of (item, query, key) of the captured segment, already divided by H; 0 elsewhere.
__device__ __forceinline__ float ag_map_grad(const AttnParams& p, const float* dmaps, int cap, float invH, int s, int b, int qi, int key) {
    if (dmaps == nullptr || s != cap) return 0.f;
    return dmaps[((long long)b * p.nq + qi) * p.seg[s].nk + key] * invH;
}

// Pass 1: lse (log2 units) and D per (item, head, query) into [B, H, Nq]. Grid (ceil(Nq/4), H, B).
extern "C" __global__ void __launch_bounds__(128) attn_bwd_prep(AttnParams p, const float* __restrict__ dout,
                                                               const float* __restrict__ dmaps, int cap, float invH,
                                                               float* __restrict__ lse, float* __restrict__ delta) {
    const int b = blockIdx.z, h = blockIdx.y, lane = threadIdx.x & 31;
    const int qi = blockIdx.x * 4 + (threadIdx.x >> 5);
    if (qi >= p.nq) return;
    const int D = p.D, HD = p.H * D;
    float qv[AG_PER_LANE], o[AG_PER_LANE];
    ag_load(qv, static_cast<const float*>(p.q) + b * p.qBatch + (long long)qi * p.qTok + (long long)h * D, D, lane);
#pragma unroll
    for (int i = 0; i < AG_PER_LANE; i++) o[i] = 0.f;
    float m = -INFINITY, l = 0.f, g = 0.f;  // running max, sum, and sum of p * G
    for (int s = 0; s < p.nseg; s++) {
        const int row = p.map[s][b];
        if (row < 0) continue;
        const AttnSeg& sg = p.seg[s];
        const float* kb = static_cast<const float*>(sg.k) + row * sg.kBatch + (long long)h * D;
        const float* vb = static_cast<const float*>(sg.v) + row * sg.vBatch + (long long)h * D;
        const int nk = p.causal ? min(sg.nk, qi + 1) : sg.nk;
        for (int key = 0; key < nk; key++) {
            const float x = ag_dot(qv, kb + (long long)key * sg.kTok, D, lane) * sg.scaleLog2 + sg.biasLog2;
            const float mnew = fmaxf(m, x);
            if (mnew == -INFINITY) continue;  // a masked (-inf bias) key before any finite one
            const float alpha = exp2f(m - mnew), pv = exp2f(x - mnew);
            l = fmaf(l, alpha, pv);
            g = fmaf(g, alpha, pv * ag_map_grad(p, dmaps, cap, invH, s, b, qi, key));
            m = mnew;
            if (dout != nullptr) {
                const float* vr = vb + (long long)key * sg.vTok;
#pragma unroll
                for (int i = 0; i < AG_PER_LANE; i++) {
                    int d = lane + 32 * i;
                    o[i] = fmaf(o[i], alpha, d < D ? pv * vr[d] : 0.f);
                }
            }
        }
    }
    float dot = 0.f;
    if (dout != nullptr) dot = ag_dot(o, dout + ((long long)b * p.nq + qi) * HD + (long long)h * D, D, lane);
    if (p.accumulate) dot *= p.weight[b];
    if (lane == 0) {
        const long long at = ((long long)b * p.H + h) * p.nq + qi;
        lse[at] = l > 0.f ? m + log2f(l) : -INFINITY;
        delta[at] = l > 0.f ? (dot + g) / l : 0.f;
    }
}

// Pass 2: dq [B, Nq, H*D] F32 (added to when p.accumulate). Grid (ceil(Nq/4), H, B).
extern "C" __global__ void __launch_bounds__(128) attn_bwd_dq(AttnParams p, const float* __restrict__ dout,
                                                             const float* __restrict__ dmaps, int cap, float invH,
                                                             const float* __restrict__ lse, const float* __restrict__ delta,
                                                             float* __restrict__ dq) {
    const int b = blockIdx.z, h = blockIdx.y, lane = threadIdx.x & 31;
    const int qi = blockIdx.x * 4 + (threadIdx.x >> 5);
    if (qi >= p.nq) return;
    const int D = p.D, HD = p.H * D;
    const long long at = ((long long)b * p.H + h) * p.nq + qi;
    const float L = lse[at], Dl = delta[at];
    float qv[AG_PER_LANE], dov[AG_PER_LANE], acc[AG_PER_LANE];
    ag_load(qv, static_cast<const float*>(p.q) + b * p.qBatch + (long long)qi * p.qTok + (long long)h * D, D, lane);
    if (dout != nullptr) ag_load(dov, dout + ((long long)b * p.nq + qi) * HD + (long long)h * D, D, lane);
    const float w = p.accumulate ? p.weight[b] : 1.f;
#pragma unroll
    for (int i = 0; i < AG_PER_LANE; i++) { acc[i] = 0.f; dov[i] = dout == nullptr ? 0.f : dov[i] * w; }
    if (L > -INFINITY) {
        for (int s = 0; s < p.nseg; s++) {
            const int row = p.map[s][b];
            if (row < 0) continue;
            const AttnSeg& sg = p.seg[s];
            const float* kb = static_cast<const float*>(sg.k) + row * sg.kBatch + (long long)h * D;
            const float* vb = static_cast<const float*>(sg.v) + row * sg.vBatch + (long long)h * D;
            const float cs = sg.scaleLog2 * AG_LN2;  // s * c_j
            const int nk = p.causal ? min(sg.nk, qi + 1) : sg.nk;
            for (int key = 0; key < nk; key++) {
                const float* kr = kb + (long long)key * sg.kTok;
                const float x = ag_dot(qv, kr, D, lane) * sg.scaleLog2 + sg.biasLog2;
                const float pr = exp2f(x - L);
                float dp = ag_map_grad(p, dmaps, cap, invH, s, b, qi, key);
                if (dout != nullptr) dp += ag_dot(dov, vb + (long long)key * sg.vTok, D, lane);
                const float ds = pr * (dp - Dl) * cs;
#pragma unroll
                for (int i = 0; i < AG_PER_LANE; i++) {
                    int d = lane + 32 * i;
                    if (d < D) acc[i] = fmaf(ds, kr[d], acc[i]);
                }
            }
        }
    }
    float* out = dq + ((long long)b * p.nq + qi) * HD + (long long)h * D;
#pragma unroll
    for (int i = 0; i < AG_PER_LANE; i++) {
        int d = lane + 32 * i;
        if (d < D) out[d] = p.accumulate ? out[d] + acc[i] : acc[i];
    }
}

// Pass 3: dk, dv [Bk, Nk, H*D] F32 (contiguous) of the segment in slot 0 of p (the host builds one
// AttnParams per segment; cap is 0 when that segment is the captured one, else -1: a fixed slot
// keeps the struct's arrays out of local memory). Grid (ceil(Nk/4), H, Bk).
extern "C" __global__ void __maxnreg__(128) attn_bwd_dkv(AttnParams p, const float* __restrict__ dout,
                                                              const float* __restrict__ dmaps, int cap, float invH,
                                                              const float* __restrict__ lse, const float* __restrict__ delta,
                                                              float* __restrict__ dk, float* __restrict__ dv) {
    constexpr int s = 0;
    const int row = blockIdx.z, h = blockIdx.y, lane = threadIdx.x & 31;
    const AttnSeg& sg = p.seg[s];
    const int key = blockIdx.x * 4 + (threadIdx.x >> 5);
    if (key >= sg.nk) return;
    const int D = p.D, HD = p.H * D;
    const float cs = sg.scaleLog2 * AG_LN2;
    float kv[AG_PER_LANE], vv[AG_PER_LANE], gk[AG_PER_LANE], gv[AG_PER_LANE];
    ag_load(kv, static_cast<const float*>(sg.k) + row * sg.kBatch + (long long)key * sg.kTok + (long long)h * D, D, lane);
    ag_load(vv, static_cast<const float*>(sg.v) + row * sg.vBatch + (long long)key * sg.vTok + (long long)h * D, D, lane);
#pragma unroll
    for (int i = 0; i < AG_PER_LANE; i++) { gk[i] = 0.f; gv[i] = 0.f; }
    for (int b = 0; b < p.B; b++) {
        if (p.map[s][b] != row) continue;
        const float w = p.accumulate ? p.weight[b] : 1.f;
        const float* qb = static_cast<const float*>(p.q) + b * p.qBatch + (long long)h * D;
        const long long st = ((long long)b * p.H + h) * p.nq;
        for (int qi = p.causal ? key : 0; qi < p.nq; qi++) {
            const float L = lse[st + qi];
            if (!(L > -INFINITY)) continue;
            const float* qr = qb + (long long)qi * p.qTok;
            const float x = ag_dot(kv, qr, D, lane) * sg.scaleLog2 + sg.biasLog2;
            const float pr = exp2f(x - L);
            float dp = ag_map_grad(p, dmaps, cap, invH, s, b, qi, key);
            const float* dor = dout != nullptr ? dout + ((long long)b * p.nq + qi) * HD + (long long)h * D : nullptr;
            if (dor != nullptr) dp += w * ag_dot(vv, dor, D, lane);
            const float ds = pr * (dp - delta[st + qi]) * cs;
#pragma unroll
            for (int i = 0; i < AG_PER_LANE; i++) {
                int d = lane + 32 * i;
                if (d < D) {
                    gk[i] = fmaf(ds, qr[d], gk[i]);
                    if (dor != nullptr) gv[i] = fmaf(pr * w, dor[d], gv[i]);
                }
            }
        }
    }
    const long long o = ((long long)row * sg.nk + key) * HD + (long long)h * D;
#pragma unroll
    for (int i = 0; i < AG_PER_LANE; i++) {
        int d = lane + 32 * i;
        if (d < D) { dk[o + d] = gk[i]; dv[o + d] = gv[i]; }
    }
}
