// Reverse-mode primitives of runtime.autograd (Backend.sumToShape, unaryBackward,
// groupNormBackward, im2col, col2im, embeddingBackward, selectsFirst). Inputs F32/F16/BF16,
// results F32 (as on the CPU backend). Every reduction sums in a fixed order: per-thread loops
// over fixed ranges, fixed-tree warp/shared-memory merges, partials summed in index order; no
// atomics, so results are bitwise reproducible run to run.
#include "common.cuh"

// The ordinals of dev.diffuse4j.runtime.ops.UnaryOp / BinaryOp (as in elementwise.cu).
enum GradUnaryCode { G_SILU, G_GELU_ERF, G_GELU_TANH, G_QUICK_GELU, G_SIGMOID, G_EXP, G_NEG, G_SQRT, G_SQUARE };
enum GradBinaryCode { G_MAX = 4, G_MIN = 5 };

// ------------------------------------------------------------------------------------ unary
// f'(x) in F32 with the accurate expf/erff/tanhf (not the fast intrinsics the forward uses).
__device__ __forceinline__ float sigmoid_acc(float x) { return 1.f / (1.f + expf(-x)); }

__device__ __forceinline__ float unary_derivative(int op, float x) {
    switch (op) {
        case G_SILU: { float s = sigmoid_acc(x); return s * (1.f + x * (1.f - s)); }
        case G_GELU_ERF: return 0.5f * (1.f + erff(x * 0.70710678118654752f)) + x * 0.39894228040143268f * expf(-0.5f * x * x);
        case G_GELU_TANH: {
            float x2 = x * x, u = 0.7978845608028654f * (x + 0.044715f * x2 * x), t = tanhf(u);
            return 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * 0.7978845608028654f * (1.f + 3.f * 0.044715f * x2);
        }
        case G_QUICK_GELU: { float s = sigmoid_acc(1.702f * x); return s + 1.702f * x * s * (1.f - s); }
        case G_SIGMOID: { float s = sigmoid_acc(x); return s * (1.f - s); }
        case G_EXP: return expf(x);
        case G_NEG: return -1.f;
        case G_SQRT: return 0.5f / sqrtf(x);
        case G_SQUARE: return 2.f * x;
        default: return __int_as_float(0x7fc00000);
    }
}

// out = dy * f'(x); x and dy contiguous of one shape.
template <typename T>
__device__ void unary_grad_impl(const T* __restrict__ x, const T* __restrict__ dy, float* __restrict__ out, long long n, int op) {
    GRID_STRIDE_LOOP(i, n) out[i] = to_f32(dy[i]) * unary_derivative(op, to_f32(x[i]));
}

// ------------------------------------------------------------------------------------ sumToShape
// Output o (row-major over the kept dimensions `kept`, with x's strides) is the sum of x over the
// reduced dimensions `red` (x's strides); split s of `splits` covers reduced indices
// [inner*s/splits, inner*(s+1)/splits) and writes part[o*splits + s] (the output itself when
// splits == 1; sum_splits then adds the partials in order).

// One warp per (output, split), lanes over the reduced index: coalesced when the reduction runs
// along x's innermost dimension. Block 256 = 8 outputs.
template <typename T>
__device__ void sum_rows_impl(const T* __restrict__ x, Strided kept, Strided red, long long nOut, long long inner,
                              float* __restrict__ part, int splits) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, s = blockIdx.y;
    const long long r0 = inner * s / splits, r1 = inner * (s + 1) / splits;
    for (long long o = blockIdx.x * 8LL + warp; o < nOut; o += gridDim.x * 8LL) {
        const long long base = strided_offset(kept, o);
        float acc = 0.f;
        for (long long r = r0 + lane; r < r1; r += 32) acc += to_f32(x[base + strided_offset(red, r)]);
        acc = warp_sum(acc);
        if (lane == 0) part[o * splits + s] = acc;
    }
}

// 32 consecutive outputs by 8 reduction lanes: coalesced when x's innermost dimension is kept
// (bias gradients [M, C] -> [C]). Grid (ceil(nOut/32), splits).
template <typename T>
__device__ void sum_cols_impl(const T* __restrict__ x, Strided kept, Strided red, long long nOut, long long inner,
                              float* __restrict__ part, int splits) {
    __shared__ float sh[8][33];
    const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5, s = blockIdx.y;
    const long long r0 = inner * s / splits, r1 = inner * (s + 1) / splits;
    const long long o = blockIdx.x * 32LL + tx;
    float acc = 0.f;
    if (o < nOut) {
        const long long base = strided_offset(kept, o);
        for (long long r = r0 + ty; r < r1; r += 8) acc += to_f32(x[base + strided_offset(red, r)]);
    }
    sh[ty][tx] = acc;
    __syncthreads();
    if (ty == 0 && o < nOut) {
        float t = 0.f;
#pragma unroll
        for (int k = 0; k < 8; k++) t += sh[k][tx];
        part[o * splits + s] = t;
    }
}

extern "C" __global__ void sum_splits(const float* __restrict__ part, float* __restrict__ out, long long nOut, int splits) {
    GRID_STRIDE_LOOP(o, nOut) {
        float t = 0.f;
        for (int s = 0; s < splits; s++) t += part[o * splits + s];
        out[o] = t;
    }
}

// ------------------------------------------------------------------------------------ GroupNorm backward
// x, dy [B, P, C] contiguous; stats [B*G, 2] = (mean, rstd) from group_norm_stats/finalize.
// Per (item, group) of N = P*Cg elements, xhat = (x - mean) rstd, d = dy (through SiLU when fused),
// g = d gamma: dx = rstd (g - mean(g) - xhat mean(g xhat)); dgamma = sum d xhat, dbeta = sum d
// (the host sums dgi/dbi [B, C] over items with the sumToShape kernels).

// dL/d(gamma xhat + beta).
__device__ __forceinline__ float gn_dpre(float dy, float xh, float ga, float be, int silu) {
    if (!silu) return dy;
    float y = fmaf(ga, xh, be), s = sigmoid_acc(y);
    return dy * s * (1.f + y * (1.f - s));
}

// Pass 1, grid (B, splits): per item, channel and split of the positions, sum d*xhat and d into
// pdg/pdb [B, splits, C]. The block is CL channel lanes by PL = 256/CL position lanes.
template <typename T>
__device__ void gn_bwd_reduce_impl(const T* __restrict__ x, const T* __restrict__ dy, const float* __restrict__ stats,
                                   long long P, int C, int G, const void* gamma, int gcode, const void* beta, int bcode,
                                   int silu, float* __restrict__ pdg, float* __restrict__ pdb) {
    __shared__ float shg[256], shb[256];
    const int b = blockIdx.x, s = blockIdx.y, splits = gridDim.y, Cg = C / G;
    const int CL = min(C, 256), PL = 256 / CL;
    const int cl = threadIdx.x % CL, pl = threadIdx.x / CL;
    const long long p0 = P * s / splits, p1 = P * (s + 1) / splits;
    const T* xb = x + (long long)b * P * C;
    const T* db = dy + (long long)b * P * C;
    for (int c0 = 0; c0 < C; c0 += CL) {
        const int c = c0 + cl;
        float adg = 0.f, adb = 0.f;
        if (pl < PL && c < C) {
            const float* st = stats + 2LL * ((long long)b * G + c / Cg);
            const float mean = st[0], rstd = st[1];
            const float ga = load_any(gamma, gcode, c, 1.f), be = load_any(beta, bcode, c, 0.f);
            for (long long p = p0 + pl; p < p1; p += PL) {
                const long long i = p * C + c;
                const float xh = (to_f32(xb[i]) - mean) * rstd;
                const float d = gn_dpre(to_f32(db[i]), xh, ga, be, silu);
                adg = fmaf(d, xh, adg);
                adb += d;
            }
        }
        __syncthreads();  // the previous chunk's merge has read the scratch
        if (pl < PL) { shg[threadIdx.x] = adg; shb[threadIdx.x] = adb; }
        __syncthreads();
        if (pl == 0 && c < C) {
            float tg = 0.f, tb = 0.f;
            for (int k = 0; k < PL; k++) { tg += shg[k * CL + cl]; tb += shb[k * CL + cl]; }
            const long long o = ((long long)b * splits + s) * C + c;
            pdg[o] = tg;
            pdb[o] = tb;
        }
    }
}

// Pass 2, one thread per (item, group): per-channel sums over the splits into dgi/dbi [B, C], and
// the group means mean(g) = sum gamma*db / N, mean(g xhat) = sum gamma*dg / N into coef [B*G, 2].
extern "C" __global__ void gn_bwd_group(const float* __restrict__ pdg, const float* __restrict__ pdb, int B, int C, int G,
                                        int splits, long long P, const void* gamma, int gcode,
                                        float* __restrict__ dgi, float* __restrict__ dbi, float* __restrict__ coef) {
    const int Cg = C / G;
    GRID_STRIDE_LOOP(i, (long long)B * G) {
        const int b = (int)(i / G), g = (int)(i - (long long)b * G);
        float sg = 0.f, sgx = 0.f;
        for (int c = g * Cg; c < (g + 1) * Cg; c++) {
            float tg = 0.f, tb = 0.f;
            for (int s = 0; s < splits; s++) {
                const long long o = ((long long)b * splits + s) * C + c;
                tg += pdg[o];
                tb += pdb[o];
            }
            dgi[(long long)b * C + c] = tg;
            dbi[(long long)b * C + c] = tb;
            const float ga = load_any(gamma, gcode, c, 1.f);
            sg = fmaf(ga, tb, sg);
            sgx = fmaf(ga, tg, sgx);
        }
        const float n = (float)P * Cg;
        coef[2 * i] = sg / n;
        coef[2 * i + 1] = sgx / n;
    }
}

// Pass 3, elementwise: dx [B, P, C] F32.
template <typename T>
__device__ void gn_bwd_dx_impl(const T* __restrict__ x, const T* __restrict__ dy, const float* __restrict__ stats,
                               const float* __restrict__ coef, long long P, int C, int G, const void* gamma, int gcode,
                               const void* beta, int bcode, int silu, float* __restrict__ dx, long long n) {
    const int Cg = C / G;
    GRID_STRIDE_LOOP(i, n) {
        const int c = (int)(i % C);
        const long long b = i / ((long long)P * C);
        const long long bg = b * G + c / Cg;
        const float mean = stats[2 * bg], rstd = stats[2 * bg + 1];
        const float ga = load_any(gamma, gcode, c, 1.f), be = load_any(beta, bcode, c, 0.f);
        const float xh = (to_f32(x[i]) - mean) * rstd;
        const float d = gn_dpre(to_f32(dy[i]), xh, ga, be, silu);
        dx[i] = rstd * (d * ga - coef[2 * bg] - xh * coef[2 * bg + 1]);
    }
}

// ------------------------------------------------------------------------------------ im2col / col2im
// NHWC x [B, H, W, C] contiguous; cols [B*Ho*Wo, kh*kw*C] in (ky, kx, c) order; zeros where the
// window leaves the input. `geom` = {H, W, C, Ho, Wo, kh, kw, strideH, strideW, padTop, padLeft}.
struct ConvGeom { int H, W, C, Ho, Wo, kh, kw, sh, sw, pt, pl, pad_; };
static_assert(sizeof(ConvGeom) == 48, "ConvGeom layout (CudaGrad.geom)");

template <typename T>
__device__ void im2col_impl(const T* __restrict__ x, float* __restrict__ cols, ConvGeom g, long long n) {
    const long long K = (long long)g.kh * g.kw * g.C;
    GRID_STRIDE_LOOP(i, n) {
        const long long row = i / K;
        const int k = (int)(i - row * K);
        const int c = k % g.C, t = k / g.C, kx = t % g.kw, ky = t / g.kw;
        const int ox = (int)(row % g.Wo);
        const long long r2 = row / g.Wo;
        const int oy = (int)(r2 % g.Ho);
        const long long item = r2 / g.Ho;
        const int iy = oy * g.sh - g.pt + ky, ix = ox * g.sw - g.pl + kx;
        float v = 0.f;
        if (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W) v = to_f32(x[((item * g.H + iy) * g.W + ix) * g.C + c]);
        cols[i] = v;
    }
}

// Gather form of the adjoint: each input element sums the patch entries that read it (no two
// threads write one element), taps in (ky, kx) order.
template <typename T>
__device__ void col2im_impl(const T* __restrict__ cols, float* __restrict__ dx, ConvGeom g, long long n) {
    const long long K = (long long)g.kh * g.kw * g.C;
    GRID_STRIDE_LOOP(i, n) {
        const int c = (int)(i % g.C);
        const long long pix = i / g.C;
        const int ix = (int)(pix % g.W);
        const long long r2 = pix / g.W;
        const int iy = (int)(r2 % g.H);
        const long long item = r2 / g.H;
        float acc = 0.f;
        for (int ky = 0; ky < g.kh; ky++) {
            const int ty = iy + g.pt - ky;
            if (ty < 0 || ty % g.sh != 0 || ty / g.sh >= g.Ho) continue;
            const int oy = ty / g.sh;
            for (int kx = 0; kx < g.kw; kx++) {
                const int tx = ix + g.pl - kx;
                if (tx < 0 || tx % g.sw != 0 || tx / g.sw >= g.Wo) continue;
                const int ox = tx / g.sw;
                acc += to_f32(cols[((item * g.Ho + oy) * g.Wo + ox) * K + (long long)(ky * g.kw + kx) * g.C + c]);
            }
        }
        dx[i] = acc;
    }
}

// ------------------------------------------------------------------------------------ embedding / selectsFirst
// out [rows, D] F32: row r sums the dy rows order[offsets[r] .. offsets[r+1]) (positions whose id is
// r, ascending; built on the host), so the sum order is fixed.
template <typename T>
__device__ void embedding_grad_impl(const T* __restrict__ dy, const int* __restrict__ offsets, const int* __restrict__ order,
                                    float* __restrict__ out, long long rows, int D) {
    GRID_STRIDE_LOOP(i, rows * D) {
        const long long r = i / D;
        const int d = (int)(i - r * D);
        float acc = 0.f;
        for (int t = offsets[r]; t < offsets[r + 1]; t++) acc += to_f32(dy[(long long)order[t] * D + d]);
        out[i] = acc;
    }
}

// 1 where a is MAX/MIN's choice (ties to a), else 0; sa/sb: the broadcast shape with each operand's strides.
template <typename T>
__device__ void selects_first_impl(const T* __restrict__ a, Strided sa, const T* __restrict__ b, Strided sb,
                                   float* __restrict__ out, long long n, int op) {
    GRID_STRIDE_LOOP(i, n) {
        const float va = to_f32(a[strided_offset(sa, i)]), vb = to_f32(b[strided_offset(sb, i)]);
        out[i] = (op == G_MAX ? va >= vb : va <= vb) ? 1.f : 0.f;
    }
}

#define GRAD(T, S)                                                                                                  \
    extern "C" __global__ void unary_grad_##S(const T* x, const T* dy, float* out, long long n, int op) {           \
        unary_grad_impl<T>(x, dy, out, n, op);                                                                      \
    }                                                                                                               \
    extern "C" __global__ void sum_rows_##S(const T* x, Strided kept, Strided red, long long nOut, long long inner,  \
                                            float* part, int splits) {                                              \
        sum_rows_impl<T>(x, kept, red, nOut, inner, part, splits);                                                  \
    }                                                                                                               \
    extern "C" __global__ void sum_cols_##S(const T* x, Strided kept, Strided red, long long nOut, long long inner,  \
                                            float* part, int splits) {                                              \
        sum_cols_impl<T>(x, kept, red, nOut, inner, part, splits);                                                  \
    }                                                                                                               \
    extern "C" __global__ void __launch_bounds__(256) group_norm_bwd_reduce_##S(                                    \
        const T* x, const T* dy, const float* stats, long long P, int C, int G, const void* g, int gc, const void* b, \
        int bc, int silu, float* pdg, float* pdb) {                                                                 \
        gn_bwd_reduce_impl<T>(x, dy, stats, P, C, G, g, gc, b, bc, silu, pdg, pdb);                                 \
    }                                                                                                               \
    extern "C" __global__ void group_norm_bwd_dx_##S(const T* x, const T* dy, const float* stats, const float* coef, \
                                                     long long P, int C, int G, const void* g, int gc, const void* b, \
                                                     int bc, int silu, float* dx, long long n) {                    \
        gn_bwd_dx_impl<T>(x, dy, stats, coef, P, C, G, g, gc, b, bc, silu, dx, n);                                  \
    }                                                                                                               \
    extern "C" __global__ void im2col_##S(const T* x, float* cols, ConvGeom g, long long n) { im2col_impl<T>(x, cols, g, n); } \
    extern "C" __global__ void col2im_##S(const T* cols, float* dx, ConvGeom g, long long n) { col2im_impl<T>(cols, dx, g, n); } \
    extern "C" __global__ void embedding_grad_##S(const T* dy, const int* offsets, const int* order, float* out,    \
                                                  long long rows, int D) {                                          \
        embedding_grad_impl<T>(dy, offsets, order, out, rows, D);                                                   \
    }                                                                                                               \
    extern "C" __global__ void selects_first_##S(const T* a, Strided sa, const T* b, Strided sb, float* out,        \
                                                 long long n, int op) {                                             \
        selects_first_impl<T>(a, sa, b, sb, out, n, op);                                                            \
    }

GRAD(float, f32)
GRAD(f16, f16)
GRAD(bf16, bf16)
