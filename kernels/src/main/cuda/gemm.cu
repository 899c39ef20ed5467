// Matrix products for matmul and linear: batched (blockIdx.z), strided, bias and scaled residual in
// the epilogue. Kernel names: gemm_tc_<dtype>_<nt|nn>_<tile> (tensor cores; nt = B is [N,K],
// nn = B is [K,N]) and gemm_simt_<dtype> (any strides, F32 included). Launch: grid
// (ceil(N/BN), ceil(M/BM), batch), block THREADS, dynamic shared memory SMEM_BYTES (the host reads
// both from the names' tile: l = 128x128 / 256 threads, s = 64x64 / 128 threads, 4 stages).
#include "gemm.cuh"

#define TC_GEMM(T, S, LAYOUT, KMAJOR, TILE, BM, BN, WM, WN)                                               \
    extern "C" __global__ void __launch_bounds__(TcConfig<BM, BN, WM, WN, 4, KMAJOR>::THREADS)               \
        gemm_tc_##S##_##LAYOUT##_##TILE(GemmArgs g) {                                                        \
        tc_gemm_body<T, BM, BN, WM, WN, 4, KMAJOR, MatrixA<T>>(g, ConvArgs{});                              \
    }

#define TC_GEMMS(T, S)                                  \
    TC_GEMM(T, S, nt, true, l, 128, 128, 64, 32)        \
    TC_GEMM(T, S, nn, false, l, 128, 128, 64, 32)       \
    TC_GEMM(T, S, nt, true, s, 64, 64, 32, 32)          \
    TC_GEMM(T, S, nn, false, s, 64, 64, 32, 32)

TC_GEMMS(f16, f16)
TC_GEMMS(bf16, bf16)

#define SIMT_GEMM(T, S)                                                                                   \
    extern "C" __global__ void __launch_bounds__(256) gemm_simt_##S(GemmArgs g) {                        \
        SimtMatrixA<T> a{static_cast<const T*>(g.A) + blockIdx.z * g.sA, g.lda, g.a_k, g.M, g.K};        \
        simt_gemm_body<T>(g, a);                                                                           \
    }
SIMT_GEMM(float, f32)
SIMT_GEMM(f16, f16)
SIMT_GEMM(bf16, bf16)
