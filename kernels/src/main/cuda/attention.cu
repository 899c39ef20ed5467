// The fused attention op (DESIGN §3).
//
// flash_<dtype>_d<DP>: tensor-core flash attention, F16/BF16, head dim padded to DP (a multiple of
// 16; D % 8 == 0 and 16-byte aligned rows required). Grid (ceil(Nq/64), H, B), 128 threads, each warp
// owns 16 query rows; keys stream through a double-buffered cp.async ring in tiles of 64. One
// online softmax (running max / sum / accumulator) runs across every present KV segment (joint
// mode); stratified mode is one launch per segment accumulating weight * softmax_j V_j into an F32
// buffer. AdaIN is folded into the Q/K/V tile loads as per-(item, channel) affines. Causal masks
// keys after the query. The log-sum-exp of each row is saved for the map pass.
//
// attn_simt_<dtype>: the same contract on CUDA cores for F32 and shapes the tensor-core kernel does
// not take (one warp per query row). attn_maps_<dtype>: the second pass that recomputes the
// probabilities of one segment from the saved log-sum-exp and averages them over heads.
#include "attention.cuh"
#include "mma.cuh"

constexpr int FA_BQ = 64, FA_BK = 64, FA_THREADS = 128;

template <int DP> struct FaSmem {
    static constexpr int LD = DP + 8;  // +16 bytes per row: ldmatrix rows land in distinct banks
    static constexpr int BYTES = (FA_BQ + 4 * FA_BK) * LD * 2;
};

// Loads rows [r0, r0+rows) of a [tokens, H*D] view (head h) into a [64][LD] tile; zero outside.
// With a/c, applies x*a+c to the chunks this thread loaded (call apply after the copies landed).
template <typename T, int DP>
__device__ __forceinline__ void fa_load(T* tile, const T* base, long long tokStride, int r0, int nrows, int D) {
    constexpr int CPR = DP / 8, LD = FaSmem<DP>::LD;
    for (int id = threadIdx.x; id < FA_BK * CPR; id += FA_THREADS) {
        int r = id / CPR, c = id - r * CPR;
        const T* src = (r0 + r < nrows && c * 8 < D) ? base + (long long)(r0 + r) * tokStride + c * 8 : nullptr;
        cp_async16(tile + r * LD + c * 8, src, base);
    }
}

template <typename T, int DP>
__device__ __forceinline__ void fa_affine(T* tile, int r0, int nrows, int D, const float* a, const float* c) {
    constexpr int CPR = DP / 8, LD = FaSmem<DP>::LD;
    for (int id = threadIdx.x; id < FA_BK * CPR; id += FA_THREADS) {
        int r = id / CPR, ch = id - r * CPR;
        if (r0 + r >= nrows || ch * 8 >= D) continue;
        T* x = tile + r * LD + ch * 8;
#pragma unroll
        for (int e = 0; e < 8; e++) x[e] = from_f32<T>(fmaf(to_f32(x[e]), a[ch * 8 + e], c[ch * 8 + e]));
    }
}

using TileCursor = KvTiles<FA_BQ, FA_BK>;

template <typename T, int DP>
__device__ void flash_impl(const AttnParams& p) {
    constexpr int LD = FaSmem<DP>::LD, NDT = DP / 8;
    DYNAMIC_SMEM(unsigned char, smem_raw);
    T* sQ = reinterpret_cast<T*>(smem_raw);
    T* sK = sQ + FA_BQ * LD;        // [2][64][LD]
    T* sV = sK + 2 * FA_BK * LD;    // [2][64][LD]

    const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * FA_BQ;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int D = p.D, HD = p.H * p.D;
    const long long hOff = (long long)h * D;
    const int coef = b * HD + h * D;  // AdaIN coefficient row

    TileCursor cur = TileCursor::first(p, b, q0);
    if (p.accumulate && !cur.valid(p)) return;  // stratified launch of a segment this item lacks

    auto load_kv = [&](const TileCursor& c, int stage) {
        const AttnSeg& s = p.seg[c.seg];
        int row = p.map[c.seg][b];
        const T* kb = static_cast<const T*>(s.k) + row * s.kBatch + hOff;
        const T* vb = static_cast<const T*>(s.v) + row * s.vBatch + hOff;
        fa_load<T, DP>(sK + stage * FA_BK * LD, kb, s.kTok, c.tile * FA_BK, s.nk, D);
        fa_load<T, DP>(sV + stage * FA_BK * LD, vb, s.vTok, c.tile * FA_BK, s.nk, D);
    };

    fa_load<T, DP>(sQ, static_cast<const T*>(p.q) + b * p.qBatch + hOff, p.qTok, q0, p.nq, D);
    if (cur.valid(p)) load_kv(cur, 0);
    cp_async_commit();

    float o[NDT][4];
#pragma unroll
    for (int j = 0; j < NDT; j++)
#pragma unroll
        for (int e = 0; e < 4; e++) o[j][e] = 0.f;
    float mrow[2] = {-INFINITY, -INFINITY}, lrow[2] = {0.f, 0.f};

    bool first = true;
    int stage = 0;
    while (cur.valid(p)) {
        cp_async_wait<0>();
        if (first && p.qa) fa_affine<T, DP>(sQ, q0, p.nq, D, p.qa + coef, p.qc + coef);
        first = false;
        const AttnSeg& s = p.seg[cur.seg];
        if (cur.seg == 0 && p.ka) fa_affine<T, DP>(sK + stage * FA_BK * LD, cur.tile * FA_BK, s.nk, D, p.ka + coef, p.kc + coef);
        if (cur.seg == 0 && p.va) fa_affine<T, DP>(sV + stage * FA_BK * LD, cur.tile * FA_BK, s.nk, D, p.va + coef, p.vc + coef);
        __syncthreads();

        TileCursor nxt = cur;
        nxt.next(p, b, q0);
        if (nxt.valid(p)) load_kv(nxt, stage ^ 1);
        cp_async_commit();

        // S = Q K^T for this warp's 16 rows and 64 keys.
        const T* k = sK + stage * FA_BK * LD;
        const T* v = sV + stage * FA_BK * LD;
        float sc[8][4];
#pragma unroll
        for (int j = 0; j < 8; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) sc[j][e] = 0.f;
#pragma unroll
        for (int kd = 0; kd < DP / 16; kd++) {
            uint32_t a[4];
            ldmatrix_x4(a, sQ + (warp * 16 + (lane & 15)) * LD + kd * 16 + (lane >> 4) * 8);
#pragma unroll
            for (int j = 0; j < 8; j += 2) {
                uint32_t r[4];
                int key = j * 8 + (lane & 7) + ((lane >> 4) << 3);
                ldmatrix_x4(r, k + key * LD + kd * 16 + ((lane >> 3) & 1) * 8);
                mma16816<T>(sc[j], a, r[0], r[1]);
                mma16816<T>(sc[j + 1], a, r[2], r[3]);
            }
        }

        // Online softmax in log2 units; each thread holds rows lane/4 and lane/4 + 8 of its warp's 16.
        const int qrow = q0 + warp * 16 + (lane >> 2);
        float alpha[2];
        softmax_tile<8>(sc, p, s, cur.tile * FA_BK, qrow, mrow, lrow, alpha);
#pragma unroll
        for (int j = 0; j < NDT; j++) {
            o[j][0] *= alpha[0]; o[j][1] *= alpha[0];
            o[j][2] *= alpha[1]; o[j][3] *= alpha[1];
        }

        // O += P V: P's accumulator layout is the A-fragment layout of the next mma.
#pragma unroll
        for (int kk = 0; kk < 4; kk++) {
            uint32_t a[4];
            p_fragment<T>(sc, kk, a);
#pragma unroll
            for (int dn = 0; dn < NDT; dn += 2) {
                uint32_t r[4];
                ldmatrix_x4_trans(r, v + (kk * 16 + (lane & 15)) * LD + dn * 8 + (lane >> 4) * 8);
                mma16816<T>(o[dn], a, r[0], r[1]);
                mma16816<T>(o[dn + 1], a, r[2], r[3]);
            }
        }
        __syncthreads();  // everyone is done with this stage before it is refilled
        cur = nxt;
        stage ^= 1;
    }
    cp_async_wait<0>();

    attn_finish<T, NDT>(p, b, h, q0 + warp * 16 + (lane >> 2), mrow, lrow, o);
}

#define FLASH(T, S, DP)                                                                                 \
    extern "C" __global__ void __launch_bounds__(FA_THREADS) flash_##S##_d##DP(AttnParams p) { flash_impl<T, DP>(p); }
#define FLASH_ALL(T, S) FLASH(T, S, 32) FLASH(T, S, 48) FLASH(T, S, 64) FLASH(T, S, 80) FLASH(T, S, 128) FLASH(T, S, 160)
FLASH_ALL(f16, f16)
FLASH_ALL(bf16, bf16)

// ------------------------------------------------------------------------------------ SIMT path
// Grid (ceil(Nq/4), H, B), 128 threads: warp w handles query blockIdx.x*4 + w; lane owns head
// channels lane, lane+32, ... (D <= 256).
constexpr int SIMT_DMAX = 256, SIMT_PER_LANE = SIMT_DMAX / 32;

template <typename T>
__device__ void attn_simt_impl(const AttnParams& p) {
    const int b = blockIdx.z, h = blockIdx.y, lane = threadIdx.x & 31;
    const int qi = blockIdx.x * 4 + (threadIdx.x >> 5);
    if (qi >= p.nq) return;
    const int D = p.D, coef = b * p.H * D + h * D;
    bool anySeg = false;
    for (int s = 0; s < p.nseg; s++) anySeg |= p.map[s][b] >= 0;
    if (p.accumulate && !anySeg) return;

    float qv[SIMT_PER_LANE], o[SIMT_PER_LANE];
    const T* qrow = static_cast<const T*>(p.q) + b * p.qBatch + (long long)qi * p.qTok + (long long)h * D;
#pragma unroll
    for (int i = 0; i < SIMT_PER_LANE; i++) {
        int d = lane + 32 * i;
        float x = d < D ? to_f32(qrow[d]) : 0.f;
        if (d < D && p.qa) x = fmaf(x, p.qa[coef + d], p.qc[coef + d]);
        qv[i] = x;
        o[i] = 0.f;
    }
    float m = -INFINITY, l = 0.f;
    for (int s = 0; s < p.nseg; s++) {
        int row = p.map[s][b];
        if (row < 0) continue;
        const T* kb = static_cast<const T*>(p.seg[s].k) + row * p.seg[s].kBatch + (long long)h * D;
        const T* vb = static_cast<const T*>(p.seg[s].v) + row * p.seg[s].vBatch + (long long)h * D;
        const long long kTok = p.seg[s].kTok, vTok = p.seg[s].vTok;
        const float sl2 = p.seg[s].scaleLog2, bl2 = p.seg[s].biasLog2;
        int nk = p.causal ? min(p.seg[s].nk, qi + 1) : p.seg[s].nk;
        bool adainK = s == 0 && p.ka, adainV = s == 0 && p.va;
        for (int key = 0; key < nk; key++) {
            const T* kr = kb + (long long)key * kTok;
            float dot = 0.f;
#pragma unroll
            for (int i = 0; i < SIMT_PER_LANE; i++) {
                int d = lane + 32 * i;
                if (d < D) {
                    float kx = to_f32(kr[d]);
                    if (adainK) kx = fmaf(kx, p.ka[coef + d], p.kc[coef + d]);
                    dot = fmaf(qv[i], kx, dot);
                }
            }
            float x = warp_sum(dot) * sl2 + bl2;
            float mnew = fmaxf(m, x);
            float alpha = exp2f(m - mnew), pv = exp2f(x - mnew);
            l = l * alpha + pv;
            m = mnew;
            const T* vr = vb + (long long)key * vTok;
#pragma unroll
            for (int i = 0; i < SIMT_PER_LANE; i++) {
                int d = lane + 32 * i;
                float vx = d < D ? to_f32(vr[d]) : 0.f;
                if (d < D && adainV) vx = fmaf(vx, p.va[coef + d], p.vc[coef + d]);
                o[i] = fmaf(o[i], alpha, pv * vx);
            }
        }
    }
    float inv = l > 0.f ? 1.f / l : 0.f;
    if (p.lse && lane == 0) p.lse[((long long)b * p.H + h) * p.nq + qi] = l > 0.f ? m + log2f(l) : -INFINITY;
#pragma unroll
    for (int i = 0; i < SIMT_PER_LANE; i++) {
        int d = lane + 32 * i;
        if (d < D) attn_store<T>(p, b, qi, h * D + d, o[i] * inv);
    }
}

// ------------------------------------------------------------------------------------ map pass
// maps [B, Nq, Nk_s] (F32) = mean over heads of exp2(x - lse) for segment s, x recomputed as in the
// forward pass (AdaIN included); zeros for items without the segment. One thread per element.
template <typename T>
__device__ void attn_maps_impl(const AttnParams& p, int s, float* maps) {
    const AttnSeg& sg = p.seg[s];
    const int D = p.D, nk = sg.nk;
    long long total = (long long)p.B * p.nq * nk;
    GRID_STRIDE_LOOP(i, total) {
        int key = (int)(i % nk);
        long long t = i / nk;
        int qi = (int)(t % p.nq), b = (int)(t / p.nq);
        int row = p.map[s][b];
        float acc = 0.f;
        if (row >= 0 && !(p.causal && key > qi)) {
            for (int h = 0; h < p.H; h++) {
                const T* qr = static_cast<const T*>(p.q) + b * p.qBatch + (long long)qi * p.qTok + (long long)h * D;
                const T* kr = static_cast<const T*>(sg.k) + row * sg.kBatch + (long long)key * sg.kTok + (long long)h * D;
                int coef = b * p.H * D + h * D;
                float dot = 0.f;
                for (int d = 0; d < D; d++) {
                    float qx = to_f32(qr[d]), kx = to_f32(kr[d]);
                    if (p.qa) qx = fmaf(qx, p.qa[coef + d], p.qc[coef + d]);
                    if (s == 0 && p.ka) kx = fmaf(kx, p.ka[coef + d], p.kc[coef + d]);
                    dot = fmaf(qx, kx, dot);
                }
                float lse = p.lse[((long long)b * p.H + h) * p.nq + qi];
                acc += exp2f(dot * sg.scaleLog2 + sg.biasLog2 - lse);
            }
            acc /= p.H;
        }
        maps[i] = acc;
    }
}

#define ATTN_SIMT(T, S)                                                                                      \
    extern "C" __global__ void __launch_bounds__(128) attn_simt_##S(AttnParams p) { attn_simt_impl<T>(p); } \
    extern "C" __global__ void attn_maps_##S(AttnParams p, int s, float* maps) { attn_maps_impl<T>(p, s, maps); }
ATTN_SIMT(float, f32)
ATTN_SIMT(f16, f16)
ATTN_SIMT(bf16, bf16)
