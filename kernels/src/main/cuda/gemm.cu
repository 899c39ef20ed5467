// Matrix products for matmul and linear: batched (blockIdx.z), strided, bias and scaled residual in
// the epilogue. Kernel names: gemm_tc_<dtype>_<nt|nn>_<tile> (tensor cores; nt = B is [N,K],
// nn = B is [K,N]) and gemm_simt_<dtype> (any strides, F32 included). Launch: grid
// (ceil(N/BN), ceil(M/BM), batch), block THREADS, dynamic shared memory SMEM_BYTES (the host reads
// both from the names' tile: l = 128x128 / 256 threads, s = 64x64 / 128 threads, 4 stages).
// gemm_tc_<dtype>_<nt|nn>_split (64x64 tile) takes a SplitK and grid z = batch * splits; it writes
// F32 partial sums that splitk_reduce_<dtype> (grid-stride, 256 threads) turns into C.
// gemm_tc_<dtype>_nt_<tile>_geglu: linear + GEGLU in one pass (grid over the 2 * inner columns).
#include "gemm.cuh"

#define TC_GEMM(T, S, LAYOUT, KMAJOR, TILE, BM, BN, WM, WN)                                               \
    extern "C" __global__ void __launch_bounds__(TcConfig<BM, BN, WM, WN, 4, KMAJOR>::THREADS)               \
        gemm_tc_##S##_##LAYOUT##_##TILE(GemmArgs g) {                                                        \
        tc_gemm_body<T, BM, BN, WM, WN, 4, KMAJOR, MatrixA<T>>(g, ConvArgs{});                              \
    }

#define TC_GEMM_SPLIT(T, S, LAYOUT, KMAJOR)                                                                \
    extern "C" __global__ void __launch_bounds__(TcConfig<64, 64, 32, 32, 4, KMAJOR>::THREADS)               \
        gemm_tc_##S##_##LAYOUT##_split(GemmArgs g, SplitK sk) {                                              \
        tc_gemm_body<T, 64, 64, 32, 32, 4, KMAJOR, MatrixA<T>, EPI_SPLIT>(g, ConvArgs{}, sk);                 \
    }

// FF1 + GEGLU (gemm.cuh): N = 2 * inner logical columns, C is [M, inner].
#define TC_GEMM_GEGLU(T, S, TILE, BM, BN, WM, WN)                                                          \
    extern "C" __global__ void __launch_bounds__(TcConfig<BM, BN, WM, WN, 4, true>::THREADS)                 \
        gemm_tc_##S##_nt_##TILE##_geglu(GemmArgs g) {                                                        \
        tc_gemm_body<T, BM, BN, WM, WN, 4, true, MatrixA<T>, EPI_GEGLU>(g, ConvArgs{});                      \
    }

#define TC_GEMMS(T, S)                                  \
    TC_GEMM(T, S, nt, true, l, 128, 128, 64, 32)        \
    TC_GEMM(T, S, nn, false, l, 128, 128, 64, 32)       \
    TC_GEMM(T, S, nt, true, s, 64, 64, 32, 32)          \
    TC_GEMM(T, S, nn, false, s, 64, 64, 32, 32)         \
    TC_GEMM_SPLIT(T, S, nt, true)                       \
    TC_GEMM_SPLIT(T, S, nn, false)                      \
    TC_GEMM_GEGLU(T, S, l, 128, 128, 64, 32)            \
    TC_GEMM_GEGLU(T, S, s, 64, 64, 32, 32)

TC_GEMMS(f16, f16)
TC_GEMMS(bf16, bf16)

// C[z][m][n] = alpha * sum over splits of ws[z * splits + s][m][n] + bias[n] + beta * R[z][m][n],
// the splits added in order (conv's split launches use it too).
#define SPLITK_REDUCE(T, S)                                                                               \
    extern "C" __global__ void __launch_bounds__(256) splitk_reduce_##S(GemmArgs g, SplitK sk, int batch) { \
        long long mn = (long long)g.M * g.N, total = mn * batch;                                          \
        for (long long i = blockIdx.x * 256LL + threadIdx.x; i < total; i += (long long)gridDim.x * 256) { \
            long long z = i / mn, r = i - z * mn;                                                          \
            int m = int(r / g.N), n = int(r - (long long)m * g.N);                                         \
            const float* w = sk.ws + z * sk.splits * mn + r;                                               \
            float sum = 0.f;                                                                               \
            for (int s = 0; s < sk.splits; s++) sum += w[s * mn];                                          \
            float v = g.alpha * sum + load_any(g.bias, g.biasCode, n, 0.f);                                \
            if (g.R) v += g.beta * to_f32(static_cast<const T*>(g.R)[z * g.sR + (long long)m * g.ldr + n]); \
            static_cast<T*>(g.C)[z * g.sC + (long long)m * g.ldc + n] = from_f32<T>(v);                    \
        }                                                                                                  \
    }
SPLITK_REDUCE(f16, f16)
SPLITK_REDUCE(bf16, bf16)

#define SIMT_GEMM(T, S)                                                                                   \
    extern "C" __global__ void __launch_bounds__(256) gemm_simt_##S(GemmArgs g) {                        \
        SimtMatrixA<T> a{static_cast<const T*>(g.A) + blockIdx.z * g.sA, g.lda, g.a_k, g.M, g.K};        \
        simt_gemm_body<T>(g, a);                                                                           \
    }
SIMT_GEMM(float, f32)
SIMT_GEMM(f16, f16)
SIMT_GEMM(bf16, bf16)
