// GEMM cores shared by the matmul/linear kernels (gemm.cu) and the implicit-GEMM convolution
// (conv.cu): C[M,N] = alpha * A[M,K] B[K,N] + bias[N] + beta * R[M,N], F32 accumulation.
//
// Tensor-core path: block tile BM x BN x 32, warps of WM x WN, mma.sync m16n8k16 fed by ldmatrix
// from XOR-swizzled shared memory, a STAGES-deep cp.async ring. A is always K-contiguous (a plain
// row-major matrix, or an NHWC gather for conv); B is K-contiguous ([N,K], linear weights, conv
// weights [Cout, kh*kw*Cin]) or N-contiguous ([K,N]). Requires K % 8 == 0 and 16-byte aligned rows
// (N % 8 == 0 too when B is N-contiguous); the host checks and otherwise uses the SIMT path,
// which takes any strides and also serves F32.
#pragma once
#include "mma.cuh"

struct GemmArgs {
    const void* A; const void* B; void* C; const void* bias; const void* R;
    long long lda, ldb, ldc, ldr;  // row strides (elements); SIMT also uses the *_k/_n strides below
    long long sA, sB, sC, sR;      // batch strides (elements), blockIdx.z is the batch index
    long long a_k, b_k, b_n;       // SIMT only: A column stride, B strides along K and N
    int M, N, K, biasCode;
    float alpha, beta;
};

// Split-K for grids too small to fill the GPU (SD1.5's 8x8 level at batch 2: M = 128, N = 1280,
// K = 11520 gives 40 64x64 tiles for 132 SMs). blockIdx.z = batch * splits + split; split s sums
// k tiles [s * per, (s + 1) * per) and stores the raw F32 sums to ws[blockIdx.z][M][N];
// splitk_reduce (gemm.cu) adds the splits in order and applies the epilogue. No atomics, so a rerun
// or a graph replay gives the same bits.
struct SplitK { float* ws; int splits, per; };

// Convolution geometry: x [Bn, H, W, Cin] NHWC, out [Bn, Ho, Wo, Cout] = [M, N] with
// M = Bn*Ho*Wo and K = kh*kw*Cin in (r, s, c) order.
struct ConvArgs { int Bn, H, W, Cin, Ho, Wo, kh, kw, sh, sw, pt, pl; };

// Mirrored by CudaLinalg.gemmArgs / conv2d in the Java backend.
static_assert(sizeof(GemmArgs) == 152 && offsetof(GemmArgs, lda) == 40 && offsetof(GemmArgs, sA) == 72 &&
              offsetof(GemmArgs, a_k) == 104 && offsetof(GemmArgs, M) == 128 && offsetof(GemmArgs, alpha) == 144, "GemmArgs layout");
static_assert(sizeof(ConvArgs) == 48, "ConvArgs layout");
static_assert(sizeof(SplitK) == 16, "SplitK layout");

constexpr int GEMM_BK = 32;

// A rows of a plain row-major matrix.
template <typename T> struct MatrixA {
    const T* row[4];
    int M, K;
    __device__ __forceinline__ void init(int i, const GemmArgs& g, const ConvArgs&, const T* A, int m) {
        M = g.M; K = g.K;
        row[i] = m < g.M ? A + (long long)m * g.lda : nullptr;
    }
    __device__ __forceinline__ const T* ptr(int i, int k) const { return row[i] && k < K ? row[i] + k : nullptr; }
};

// A rows gathered from NHWC input: row m is output pixel (b, oy, ox); column k is tap (r, s) and
// input channel c. Cin % 8 == 0, so a 16-byte chunk never straddles taps.
template <typename T> struct ConvA {
    const T* img[4];  // start of the row's item
    int iy0[4], ix0[4];
    int H, W, Cin, kw, K;
    __device__ __forceinline__ void init(int i, const GemmArgs& g, const ConvArgs& c, const T* A, int m) {
        H = c.H; W = c.W; Cin = c.Cin; kw = c.kw; K = g.K;
        if (m < g.M) {
            int ox = m % c.Wo, t = m / c.Wo, oy = t % c.Ho, b = t / c.Ho;
            img[i] = A + (long long)b * c.H * c.W * c.Cin;
            iy0[i] = oy * c.sh - c.pt;
            ix0[i] = ox * c.sw - c.pl;
        } else {
            img[i] = nullptr;
        }
    }
    __device__ __forceinline__ const T* ptr(int i, int k) const {
        if (!img[i] || k >= K) return nullptr;
        int tap = k / Cin, ch = k - tap * Cin;
        int r = tap / kw, s = tap - r * kw;
        int iy = iy0[i] + r, ix = ix0[i] + s;
        if (iy < 0 || iy >= H || ix < 0 || ix >= W) return nullptr;
        return img[i] + ((long long)iy * W + ix) * Cin + ch;
    }
};

template <int BM, int BN, int WM, int WN, int STAGES, bool B_KMAJOR>
struct TcConfig {
    static constexpr int WARPS = (BM / WM) * (BN / WN);
    static constexpr int THREADS = WARPS * 32;
    static constexpr int MT = WM / 16, NT = WN / 8;
    static constexpr int A_TILE = BM * GEMM_BK;  // elements
    static constexpr int B_TILE = BN * GEMM_BK;
    static constexpr int SMEM_BYTES = STAGES * (A_TILE + B_TILE) * 2;
    static constexpr int A_CHUNKS = A_TILE / 8 / THREADS;  // 16-byte chunks per thread per stage
    static constexpr int B_CHUNKS = B_TILE / 8 / THREADS;
    static_assert(A_CHUNKS >= 1 && A_CHUNKS <= 4 && B_CHUNKS >= 1, "tile/threads mismatch");
    static_assert(NT % 2 == 0, "NT must be even (x4 ldmatrix loads two n-tiles)");
};

// Swizzled element offset inside a K-contiguous [rows][32] tile (4 chunks of 16 bytes per row).
__device__ __forceinline__ int swz_k(int row, int chunk) { return row * GEMM_BK + ((chunk ^ ((row >> 1) & 3)) << 3); }
// Swizzled element offset inside an N-contiguous [32][BN] tile.
template <int BN> __device__ __forceinline__ int swz_n(int k, int chunk) { return k * BN + ((chunk ^ (k & 7)) << 3); }

// What the tensor-core body does with its tile: the full epilogue, F32 split-K partials, or GEGLU.
//
// GEGLU fuses diffusers' FF1 projection with its activation: B is the [2*inner, K] weight of
// h = x W^T + b, and C[m, f] = (h[m, f]) * gelu_erf(h[m, inner + f]) is [M, inner] (ldc = inner).
// The tile's columns interleave the halves in groups of 8, logical column c being weight row
// (c / 16) * 8 + c % 8, plus inner when c % 16 >= 8; so a thread's even n8 tile holds values and
// the next one their gates, for the same rows and features. Needs B K-major and inner % 8 == 0.
enum TcEpilogue { EPI_PLAIN, EPI_SPLIT, EPI_GEGLU };

template <typename T, int BM, int BN, int WM, int WN, int STAGES, bool B_KMAJOR, typename ALoader, int EPI = EPI_PLAIN>
__device__ __forceinline__ void tc_gemm_body(const GemmArgs& g, const ConvArgs& conv, const SplitK& sk = SplitK{}) {
    constexpr bool SPLIT = EPI == EPI_SPLIT, GEGLU = EPI == EPI_GEGLU;
    static_assert(!GEGLU || (B_KMAJOR && WN % 16 == 0 && BN % 16 == 0), "GEGLU pairs even/odd n8 tiles of K-major B");
    const int inner = g.N / 2;
    // The weight row of logical column n (GEGLU's interleave; identity otherwise).
    auto b_row = [&](int n) { return GEGLU ? (n >> 4) * 8 + (n & 7) + ((n & 8) ? inner : 0) : n; };
    using Cfg = TcConfig<BM, BN, WM, WN, STAGES, B_KMAJOR>;
    DYNAMIC_SMEM(unsigned char, smem_raw);
    T* sA = reinterpret_cast<T*>(smem_raw);
    T* sB = sA + STAGES * Cfg::A_TILE;

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm = warp / (BN / WN), wn = warp % (BN / WN);
    const int bm = blockIdx.y * BM, bn = blockIdx.x * BN;
    const int KT_ALL = (g.K + GEMM_BK - 1) / GEMM_BK;
    long long z = blockIdx.z;
    int kt0 = 0, kt1 = KT_ALL;  // this block's k tiles
    if constexpr (SPLIT) {
        kt0 = int(z % sk.splits) * sk.per;
        kt1 = min(KT_ALL, kt0 + sk.per);
        z /= sk.splits;
    }
    const T* A = static_cast<const T*>(g.A) + z * g.sA;
    const T* B = static_cast<const T*>(g.B) + z * g.sB;

    // Per-thread A rows (fixed across K) and B coordinates.
    ALoader al;
#pragma unroll
    for (int i = 0; i < Cfg::A_CHUNKS; i++) {
        int id = tid + i * Cfg::THREADS;
        al.init(i, g, conv, A, bm + id / 4);
    }

    auto load_stage = [&](int stage, int kt) {
        int k0 = kt * GEMM_BK;
        T* a = sA + stage * Cfg::A_TILE;
        T* b = sB + stage * Cfg::B_TILE;
#pragma unroll
        for (int i = 0; i < Cfg::A_CHUNKS; i++) {
            int id = tid + i * Cfg::THREADS, r = id / 4, c = id % 4;
            cp_async16(a + swz_k(r, c), al.ptr(i, k0 + c * 8), A);
        }
#pragma unroll
        for (int i = 0; i < Cfg::B_CHUNKS; i++) {
            int id = tid + i * Cfg::THREADS;
            if constexpr (B_KMAJOR) {
                int r = id / 4, c = id % 4, n = bn + r, k = k0 + c * 8;
                cp_async16(b + swz_k(r, c), (n < g.N && k < g.K) ? B + (long long)b_row(n) * g.ldb + k : nullptr, B);
            } else {
                constexpr int CPR = BN / 8;  // chunks per k row
                int r = id / CPR, c = id % CPR, k = k0 + r, n = bn + c * 8;
                cp_async16(b + swz_n<BN>(r, c), (k < g.K && n < g.N) ? B + (long long)k * g.ldb + n : nullptr, B);
            }
        }
    };

    float acc[Cfg::MT][Cfg::NT][4];
#pragma unroll
    for (int i = 0; i < Cfg::MT; i++)
#pragma unroll
        for (int j = 0; j < Cfg::NT; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.f;

    const int KT = max(kt1 - kt0, 0);
#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < KT) load_stage(s, kt0 + s);
        cp_async_commit();
    }

    for (int kt = 0; kt < KT; kt++) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();
        int pf = kt + STAGES - 1;
        if (pf < KT) load_stage(pf % STAGES, kt0 + pf);
        cp_async_commit();

        const T* a = sA + (kt % STAGES) * Cfg::A_TILE;
        const T* b = sB + (kt % STAGES) * Cfg::B_TILE;
#pragma unroll
        for (int kk = 0; kk < GEMM_BK; kk += 16) {
            uint32_t af[Cfg::MT][4];
#pragma unroll
            for (int i = 0; i < Cfg::MT; i++) {
                int r = wm * WM + i * 16 + (lane & 15);
                int c = (kk >> 3) + (lane >> 4);
                ldmatrix_x4(af[i], a + swz_k(r, c));
            }
            uint32_t bfr[Cfg::NT][2];
#pragma unroll
            for (int j = 0; j < Cfg::NT; j += 2) {
                uint32_t r4[4];
                if constexpr (B_KMAJOR) {
                    int n = wn * WN + j * 8 + (lane & 7) + ((lane >> 4) << 3);
                    int c = (kk >> 3) + ((lane >> 3) & 1);
                    ldmatrix_x4(r4, b + swz_k(n, c));
                } else {
                    int k = kk + (lane & 15);
                    int c = ((wn * WN + j * 8) >> 3) + (lane >> 4);
                    ldmatrix_x4_trans(r4, b + swz_n<BN>(k, c));
                }
                bfr[j][0] = r4[0]; bfr[j][1] = r4[1];
                bfr[j + 1][0] = r4[2]; bfr[j + 1][1] = r4[3];
            }
#pragma unroll
            for (int i = 0; i < Cfg::MT; i++)
#pragma unroll
                for (int j = 0; j < Cfg::NT; j++) mma16816<T>(acc[i][j], af[i], bfr[j][0], bfr[j][1]);
        }
    }
    cp_async_wait<0>();

    if constexpr (SPLIT) {  // raw sums of this split; splitk_reduce does the epilogue
        float* W = sk.ws + (long long)blockIdx.z * g.M * g.N;
#pragma unroll
        for (int i = 0; i < Cfg::MT; i++)
#pragma unroll
            for (int j = 0; j < Cfg::NT; j++) {
                int n = bn + wn * WN + j * 8 + 2 * (lane & 3);
#pragma unroll
                for (int h = 0; h < 2; h++) {
                    int m = bm + wm * WM + i * 16 + (lane >> 2) + h * 8;
                    if (m >= g.M) continue;
                    float* dst = W + (long long)m * g.N + n;
                    if (n + 1 < g.N && (g.N & 1) == 0) {
                        *reinterpret_cast<float2*>(dst) = make_float2(acc[i][j][2 * h], acc[i][j][2 * h + 1]);
                    } else {
                        if (n < g.N) dst[0] = acc[i][j][2 * h];
                        if (n + 1 < g.N) dst[1] = acc[i][j][2 * h + 1];
                    }
                }
            }
        return;
    }

    if constexpr (GEGLU) {
        T* C = static_cast<T*>(g.C) + z * g.sC;
#pragma unroll
        for (int i = 0; i < Cfg::MT; i++)
#pragma unroll
            for (int j = 0; j < Cfg::NT; j += 2) {
                int n = bn + wn * WN + j * 8 + 2 * (lane & 3);  // value column; its gate is n + 8
                int f = (n >> 4) * 8 + (n & 7);                 // output feature
                if (n >= g.N) continue;
                float bv0 = load_any(g.bias, g.biasCode, b_row(n), 0.f), bv1 = load_any(g.bias, g.biasCode, b_row(n + 1), 0.f);
                float bg0 = load_any(g.bias, g.biasCode, b_row(n + 8), 0.f), bg1 = load_any(g.bias, g.biasCode, b_row(n + 9), 0.f);
#pragma unroll
                for (int h = 0; h < 2; h++) {
                    int m = bm + wm * WM + i * 16 + (lane >> 2) + h * 8;
                    if (m >= g.M) continue;
                    float v0 = (acc[i][j][2 * h] + bv0) * gelu_erf_f(acc[i][j + 1][2 * h] + bg0);
                    float v1 = (acc[i][j][2 * h + 1] + bv1) * gelu_erf_f(acc[i][j + 1][2 * h + 1] + bg1);
                    T* dst = C + (long long)m * g.ldc + f;
                    if ((reinterpret_cast<uintptr_t>(dst) & 3) == 0) {
                        *reinterpret_cast<uint32_t*>(dst) = pack2<T>(v0, v1);
                    } else {
                        dst[0] = from_f32<T>(v0);
                        dst[1] = from_f32<T>(v1);
                    }
                }
            }
        return;
    }

    // Epilogue: alpha, bias, residual, convert, store (pairs when aligned).
    T* C = static_cast<T*>(g.C) + z * g.sC;
    const T* R = g.R ? static_cast<const T*>(g.R) + z * g.sR : nullptr;
#pragma unroll
    for (int i = 0; i < Cfg::MT; i++) {
#pragma unroll
        for (int j = 0; j < Cfg::NT; j++) {
            int n = bn + wn * WN + j * 8 + 2 * (lane & 3);
            float b0 = n < g.N ? load_any(g.bias, g.biasCode, n, 0.f) : 0.f;
            float b1 = n + 1 < g.N ? load_any(g.bias, g.biasCode, n + 1, 0.f) : 0.f;
#pragma unroll
            for (int h = 0; h < 2; h++) {
                int m = bm + wm * WM + i * 16 + (lane >> 2) + h * 8;
                if (m >= g.M) continue;
                float v0 = g.alpha * acc[i][j][2 * h] + b0, v1 = g.alpha * acc[i][j][2 * h + 1] + b1;
                if (R) {
                    if (n < g.N) v0 += g.beta * to_f32(R[(long long)m * g.ldr + n]);
                    if (n + 1 < g.N) v1 += g.beta * to_f32(R[(long long)m * g.ldr + n + 1]);
                }
                T* dst = C + (long long)m * g.ldc + n;
                if (n + 1 < g.N && ((reinterpret_cast<uintptr_t>(dst) & 3) == 0)) {
                    *reinterpret_cast<uint32_t*>(dst) = pack2<T>(v0, v1);
                } else {
                    if (n < g.N) dst[0] = from_f32<T>(v0);
                    if (n + 1 < g.N) dst[1] = from_f32<T>(v1);
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------ SIMT path
// 64x64 tile, 256 threads of 4x4 outputs, BK 16, any strides, any float dtype (F32 included).
template <typename T> struct SimtMatrixA {
    const T* A; long long lda, a_k; int M, K;
    __device__ __forceinline__ float at(int m, int k) const { return (m < M && k < K) ? to_f32(A[m * lda + k * a_k]) : 0.f; }
};
template <typename T> struct SimtConvA {
    const T* A; ConvArgs c; int M, K;
    __device__ __forceinline__ float at(int m, int k) const {
        if (m >= M || k >= K) return 0.f;
        int ox = m % c.Wo, t = m / c.Wo, oy = t % c.Ho, b = t / c.Ho;
        int tap = k / c.Cin, ch = k - tap * c.Cin, r = tap / c.kw, s = tap - r * c.kw;
        int iy = oy * c.sh - c.pt + r, ix = ox * c.sw - c.pl + s;
        if (iy < 0 || iy >= c.H || ix < 0 || ix >= c.W) return 0.f;
        return to_f32(A[(((long long)b * c.H + iy) * c.W + ix) * c.Cin + ch]);
    }
};

template <typename T, typename AAccess>
__device__ __forceinline__ void simt_gemm_body(const GemmArgs& g, const AAccess& A) {
    constexpr int TM = 64, TN = 64, TK = 16;
    __shared__ float as[TK][TM + 4];
    __shared__ float bs[TK][TN + 4];
    const long long z = blockIdx.z;
    const T* B = static_cast<const T*>(g.B) + z * g.sB;
    int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    int bm = blockIdx.y * TM, bn = blockIdx.x * TN;
    float acc[4][4] = {};
    for (int k0 = 0; k0 < g.K; k0 += TK) {
        for (int i = tid; i < TM * TK; i += 256) {
            int mm = i / TK, kk = i % TK;
            as[kk][mm] = A.at(bm + mm, k0 + kk);
        }
        for (int i = tid; i < TN * TK; i += 256) {
            int kk = i / TN, nn = i % TN;
            int k = k0 + kk, n = bn + nn;
            bs[kk][nn] = (k < g.K && n < g.N) ? to_f32(B[k * g.b_k + n * g.b_n]) : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < TK; kk++) {
            float av[4], bv[4];
#pragma unroll
            for (int i = 0; i < 4; i++) av[i] = as[kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; j++) bv[j] = bs[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
        __syncthreads();
    }
    T* C = static_cast<T*>(g.C) + z * g.sC;
    const T* R = g.R ? static_cast<const T*>(g.R) + z * g.sR : nullptr;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int m = bm + ty + 16 * i;
        if (m >= g.M) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int n = bn + tx + 16 * j;
            if (n >= g.N) continue;
            float v = g.alpha * acc[i][j] + load_any(g.bias, g.biasCode, n, 0.f);
            if (R) v += g.beta * to_f32(R[(long long)m * g.ldr + n]);
            C[(long long)m * g.ldc + n] = from_f32<T>(v);
        }
    }
}
