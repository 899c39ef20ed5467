// Implicit-GEMM 2-D convolution, NHWC: out[M = B*Ho*Wo, N = Cout] = gather(x)[M, K = kh*kw*Cin] *
// w[Cout, K]^T + bias (+ beta * residual [M, N]). Any kernel size, stride and padding. Grid z
// slices (batch strides sA/sC/sR) take one image each when B*Ho*Wo tiles exceed grid y.
// conv_tc_<dtype>_<tile> needs Cin % 8 == 0 and 16-byte aligned tensors (every SD conv except the
// 4-channel stem); conv_simt_<dtype> takes the rest and F32. Launch like gemm.cu.
#include "gemm.cuh"

#define TC_CONV(T, S, TILE, BM, BN, WM, WN)                                                               \
    extern "C" __global__ void __launch_bounds__(TcConfig<BM, BN, WM, WN, 4, true>::THREADS)                 \
        conv_tc_##S##_##TILE(GemmArgs g, ConvArgs c) {                                                       \
        tc_gemm_body<T, BM, BN, WM, WN, 4, true, ConvA<T>>(g, c);                                           \
    }
TC_CONV(f16, f16, l, 128, 128, 64, 32)
TC_CONV(f16, f16, s, 64, 64, 32, 32)
TC_CONV(bf16, bf16, l, 128, 128, 64, 32)
TC_CONV(bf16, bf16, s, 64, 64, 32, 32)

// Split-K (gemm.cuh): 64x64 tile, grid z = batch * splits, F32 partials for gemm.cu's splitk_reduce.
#define TC_CONV_SPLIT(T, S)                                                                               \
    extern "C" __global__ void __launch_bounds__(TcConfig<64, 64, 32, 32, 4, true>::THREADS)                 \
        conv_tc_##S##_split(GemmArgs g, ConvArgs c, SplitK sk) {                                             \
        tc_gemm_body<T, 64, 64, 32, 32, 4, true, ConvA<T>, EPI_SPLIT>(g, c, sk);                            \
    }
TC_CONV_SPLIT(f16, f16)
TC_CONV_SPLIT(bf16, bf16)

#define SIMT_CONV(T, S)                                                                                   \
    extern "C" __global__ void __launch_bounds__(256) conv_simt_##S(GemmArgs g, ConvArgs c) {            \
        SimtConvA<T> a{static_cast<const T*>(g.A) + blockIdx.z * g.sA, c, g.M, g.K};                                          \
        simt_gemm_body<T>(g, a);                                                                           \
    }
SIMT_CONV(float, f32)
SIMT_CONV(f16, f16)
SIMT_CONV(bf16, bf16)
