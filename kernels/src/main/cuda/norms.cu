// Normalisations over contiguous rows: softmax, LayerNorm, GroupNorm (NHWC, optional fused SiLU)
// and the per-(item, channel) statistics behind AdaIN. Statistics in F32 with shifted sums per
// thread and Chan's merge across threads, so large means do not cancel the variance.
#include "common.cuh"

// (count, mean, M2) of a set of values; merge() is Chan et al.'s pairwise update.
struct Moments {
    float n, mean, m2;
    __device__ __forceinline__ void merge(float nb, float meanb, float m2b) {
        float nn = n + nb;
        if (nn == 0.f) return;
        float d = meanb - mean;
        float wb = nb / nn;
        mean += d * wb;
        m2 += m2b + d * d * n * wb;
        n = nn;
    }
};

// Per-thread accumulation relative to the first value seen (the shift keeps sums small).
struct ShiftedSums {
    float shift = 0.f, s = 0.f, ss = 0.f, n = 0.f;
    __device__ __forceinline__ void add(float x) {
        if (n == 0.f) shift = x;
        float d = x - shift;
        s += d; ss += d * d; n += 1.f;
    }
    __device__ __forceinline__ Moments moments() const {
        Moments m{n, 0.f, 0.f};
        if (n > 0.f) { float md = s / n; m.mean = shift + md; m.m2 = fmaxf(ss - s * md, 0.f); }
        return m;
    }
};

__device__ __forceinline__ Moments warp_merge(Moments m) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        float nb = __shfl_xor_sync(0xffffffffu, m.n, o);
        float mb = __shfl_xor_sync(0xffffffffu, m.mean, o);
        float qb = __shfl_xor_sync(0xffffffffu, m.m2, o);
        m.merge(nb, mb, qb);
    }
    return m;
}

// Merges the moments of every thread of the block; all threads get the result.
__device__ Moments block_merge(Moments m, float* scratch /* 96 floats */) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    m = warp_merge(m);
    if (lane == 0) { scratch[warp] = m.n; scratch[32 + warp] = m.mean; scratch[64 + warp] = m.m2; }
    __syncthreads();
    Moments t{0.f, 0.f, 0.f};
    if (lane < nw) t = Moments{scratch[lane], scratch[32 + lane], scratch[64 + lane]};
    t = warp_merge(t);
    __syncthreads();
    return t;
}

// ------------------------------------------------------------------------------------ softmax
// One block per row of n values.
template <typename T>
__device__ void softmax_impl(const T* __restrict__ x, T* __restrict__ out, int n) {
    __shared__ float scratch[32];
    const T* row = x + (long long)blockIdx.x * n;
    T* orow = out + (long long)blockIdx.x * n;
    float m = -INFINITY, s = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float v = to_f32(row[i]);
        if (v == -INFINITY) continue;
        if (v > m) { s = s * __expf(m - v) + 1.f; m = v; }
        else s += __expf(v - m);
    }
    float M = block_max(m, scratch);
    float S = block_sum(m == -INFINITY ? 0.f : s * __expf(m - M), scratch);
    float inv = 1.f / S;
    for (int i = threadIdx.x; i < n; i += blockDim.x) orow[i] = from_f32<T>(__expf(to_f32(row[i]) - M) * inv);
}

// ------------------------------------------------------------------------------------ LayerNorm
// One block per row of n values; gamma/beta of any float dtype (gcode/bcode), or null.
template <typename T>
__device__ void layer_norm_impl(const T* __restrict__ x, T* __restrict__ out, int n, const void* gamma, int gcode,
                                const void* beta, int bcode, float eps) {
    __shared__ float scratch[96];
    const T* row = x + (long long)blockIdx.x * n;
    T* orow = out + (long long)blockIdx.x * n;
    ShiftedSums acc;
    for (int i = threadIdx.x; i < n; i += blockDim.x) acc.add(to_f32(row[i]));
    Moments m = block_merge(acc.moments(), scratch);
    float rstd = rsqrtf(m.m2 / m.n + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float v = (to_f32(row[i]) - m.mean) * rstd;
        orow[i] = from_f32<T>(fmaf(v, load_any(gamma, gcode, i, 1.f), load_any(beta, bcode, i, 0.f)));
    }
}

// ------------------------------------------------------------------------------------ GroupNorm
// x [B, P, C] (P = every position), groups G of Cg = C/G contiguous channels.
// Pass 1: grid (B*G, splits); each block reduces positions [s*P/splits, (s+1)*P/splits) of one
// (item, group) into partial moments [B*G, splits, 3].
template <typename T>
__device__ void group_norm_stats_impl(const T* __restrict__ x, float* __restrict__ partial, int P, int C, int G) {
    __shared__ float scratch[96];
    int bg = blockIdx.x, b = bg / G, g = bg - b * G, Cg = C / G;
    int splits = gridDim.y, s = blockIdx.y;
    long long p0 = (long long)P * s / splits, p1 = (long long)P * (s + 1) / splits;
    const T* base = x + (long long)b * P * C + (long long)g * Cg;
    ShiftedSums acc;
    // Walk (position, channel) pairs of the group with a fixed step: no division per element.
    const int step = blockDim.x, dp = step / Cg, dc = step % Cg;
    long long p = p0 + threadIdx.x / Cg;
    int c = threadIdx.x % Cg;
    while (p < p1) {
        acc.add(to_f32(base[p * C + c]));
        p += dp;
        c += dc;
        if (c >= Cg) { c -= Cg; p++; }
    }
    Moments m = block_merge(acc.moments(), scratch);
    if (threadIdx.x == 0) {
        float* o = partial + ((long long)bg * splits + s) * 3;
        o[0] = m.n; o[1] = m.mean; o[2] = m.m2;
    }
}

// Pass 2: one thread per (item, group): merge the partials into mean and 1/sqrt(var + eps).
extern "C" __global__ void group_norm_finalize(const float* __restrict__ partial, float* __restrict__ stats,
                                               int BG, int splits, float eps) {
    GRID_STRIDE_LOOP(i, BG) {
        Moments m{0.f, 0.f, 0.f};
        for (int s = 0; s < splits; s++) {
            const float* p = partial + (i * splits + s) * 3;
            m.merge(p[0], p[1], p[2]);
        }
        stats[2 * i] = m.mean;
        stats[2 * i + 1] = rsqrtf(m.m2 / fmaxf(m.n, 1.f) + eps);
    }
}

// Pass 3: normalise, per-channel affine, optional SiLU. Grid (chunks, B); the block first folds
// mean, 1/std, gamma and beta into y = x * a[c] + b[c] in shared memory (2*C floats, dynamic).
template <typename T>
__device__ void group_norm_apply_impl(const T* __restrict__ x, T* __restrict__ out, const float* __restrict__ stats,
                                      long long P, int C, int G, const void* gamma, int gcode, const void* beta,
                                      int bcode, int silu) {
    DYNAMIC_SMEM(float, ab);  // a[C], then b[C]
    int Cg = C / G, b = blockIdx.y;
    const float* sb = stats + (long long)b * G * 2;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        int g = c / Cg;
        float a = sb[2 * g + 1] * load_any(gamma, gcode, c, 1.f);
        ab[c] = a;
        ab[C + c] = load_any(beta, bcode, c, 0.f) - sb[2 * g] * a;
    }
    __syncthreads();
    const T* xb = x + (long long)b * P * C;
    T* ob = out + (long long)b * P * C;
    const long long n = P * C, stride = (long long)gridDim.x * blockDim.x;
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    int c = (int)(i % C);
    const int sc = (int)(stride % C);
    for (; i < n; i += stride) {
        float v = fmaf(to_f32(xb[i]), ab[c], ab[C + c]);
        if (silu) v = silu_f(v);
        ob[i] = from_f32<T>(v);
        c += sc;
        if (c >= C) c -= C;
    }
}

// ------------------------------------------------------------------------------------ AdaIN statistics
// x [B, N, C] rows of N tokens: mean and sqrt(unbiased var + eps) per (item, channel) into
// mean/std [B, C]. 256 threads: 32 channels by 8 token lanes.
template <typename T>
__device__ void channel_stats_impl(const T* __restrict__ x, long long tokenStride, long long batchStride,
                                   float* __restrict__ mean, float* __restrict__ stdv, int N, int C, float eps) {
    __shared__ float sh[3][8][33];
    const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
    int b = blockIdx.y, c = blockIdx.x * 32 + tx;
    ShiftedSums acc;
    if (c < C)
        for (int t = ty; t < N; t += 8) acc.add(to_f32(x[b * batchStride + (long long)t * tokenStride + c]));
    Moments m = acc.moments();
    sh[0][ty][tx] = m.n; sh[1][ty][tx] = m.mean; sh[2][ty][tx] = m.m2;
    __syncthreads();
    if (ty == 0 && c < C) {
        Moments r{0.f, 0.f, 0.f};
        for (int k = 0; k < 8; k++) r.merge(sh[0][k][tx], sh[1][k][tx], sh[2][k][tx]);
        mean[(long long)b * C + c] = r.mean;
        stdv[(long long)b * C + c] = sqrtf(r.m2 / fmaxf(r.n - 1.f, 1.f) + eps);
    }
}

// AdaIN as a per-(item, channel) affine x' = x * a + c: item i normalised from row src[i] to row
// ref[i]'s statistics; ref[i] < 0 gives the identity. mean/std [rows, C]; a/c [B, C] F32.
struct RowPairs { int n; int src[128]; int ref[128]; };
static_assert(sizeof(RowPairs) == 1028, "RowPairs layout (CudaAttention.affine)");
extern "C" __global__ void adain_coefficients(const float* __restrict__ mean, const float* __restrict__ stdv, RowPairs rows,
                                              int C, float* __restrict__ a, float* __restrict__ c) {
    GRID_STRIDE_LOOP(i, (long long)rows.n * C) {
        int b = (int)(i / C), ch = (int)(i - (long long)b * C);
        int s = rows.src[b], r = rows.ref[b];
        float ai = 1.f, ci = 0.f;
        if (r >= 0) {
            ai = stdv[(long long)r * C + ch] / stdv[(long long)s * C + ch];
            ci = mean[(long long)r * C + ch] - mean[(long long)s * C + ch] * ai;
        }
        a[i] = ai; c[i] = ci;
    }
}

#define NORMS(T, S)                                                                                              \
    extern "C" __global__ void softmax_##S(const T* x, T* out, int n) { softmax_impl<T>(x, out, n); }             \
    extern "C" __global__ void layer_norm_##S(const T* x, T* out, int n, const void* g, int gc, const void* b, int bc, float eps) { \
        layer_norm_impl<T>(x, out, n, g, gc, b, bc, eps);                                                        \
    }                                                                                                            \
    extern "C" __global__ void group_norm_stats_##S(const T* x, float* partial, int P, int C, int G) {           \
        group_norm_stats_impl<T>(x, partial, P, C, G);                                                           \
    }                                                                                                            \
    extern "C" __global__ void group_norm_apply_##S(const T* x, T* out, const float* stats, long long P, int C, int G, \
                                                    const void* g, int gc, const void* b, int bc, int silu) {    \
        group_norm_apply_impl<T>(x, out, stats, P, C, G, g, gc, b, bc, silu);                                    \
    }                                                                                                            \
    extern "C" __global__ void channel_stats_##S(const T* x, long long ts, long long bs, float* mean, float* stdv, \
                                                 int N, int C, float eps) {                                      \
        channel_stats_impl<T>(x, ts, bs, mean, stdv, N, C, eps);                                                 \
    }

NORMS(float, f32)
NORMS(f16, f16)
NORMS(bf16, bf16)
