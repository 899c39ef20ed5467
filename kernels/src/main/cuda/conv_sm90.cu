// Hopper implicit-GEMM 2-D convolution, NHWC: out[M = B*Ho*Wo, N = Cout] = gather(x)[M, K] w[N, K]^T
// + bias (+ beta * residual [M, N]), K = kh*kw*Cin, F16 or BF16 in, F32 accumulation. Any kernel
// size, stride and padding; Cin % 64 == 0, so a 64-wide K tile is one tap's block of 64 channels
// (every SD conv but the 4-channel stem), and x 16-byte aligned.
//
// The block of sm90.cuh (the wgmma GEMM's consumers and epilogue) with another producer. The weights
// (B) arrive by TMA as in gemm_sm90.cu. The activations (A) have no tensor-map shape, so the whole
// producer warp gathers them with cp.async: each row of the A tile is one output pixel's 128 bytes
// (one tap, 64 channels) of the input, zero-filled off the image and past M, written where TMA
// would write it under the 128B swizzle (16-byte chunk c of tile row r at chunk c ^ (r % 8)). Each
// lane's copies arrive on the stage's `full` barrier through cp.async.mbarrier.arrive.noinc (32
// arrivals, with the TMA's arrive_expect_tx 33), and the consumers fence these generic-proxy writes
// before their wgmma reads them (fence.proxy.async).
//
// Host contract (CudaWgmmaGemm.conv): B's tensor map as gemm_sm90.cu's, rank 3 {K, Cout, 1}; e with
// C = out [M, N], R = residual or null, ldc = ldr = N, batch 1. Launch: grid (ceil(N/128),
// ceil(M/128), 1), 288 threads, WGMMA_SMEM_BYTES of dynamic shared memory. conv_wgmma_<t>_split:
// the same with split-K (sm90.cuh), grid z = splits.
#include "sm90.cuh"

#ifdef D4J_SM90

// Lane l fills tile rows l/2 + 16i (i < 8), chunks 2j + l%2 (j < 4): a lane pair reads one
// 32-byte sector of a row per copy, and a lane's rows share their swizzle (r % 8 = (l/2) % 8).
template <typename T> struct ConvGatherProducer {
    static constexpr int LANES = 32, FULL_ARRIVALS = 1 + 32;
    static constexpr bool GENERIC_A = true;
    static constexpr int ROWS = WG_BM / 16;
    const CUtensorMap* tmB;
    const T* x;
    ConvArgs c;
    int M, n0, cblocks;
    int pix[ROWS], iy0[ROWS], ix0[ROWS];  // per row: first pixel of its image, top-left tap position

    __device__ __forceinline__ void begin(int lane, int m0, int n, int) {
        if (lane == 0) tma_prefetch_map(tmB);
        n0 = n;
        cblocks = c.Cin / WG_BK;
#pragma unroll
        for (int i = 0; i < ROWS; i++) {
            const int m = m0 + (lane >> 1) + 16 * i;
            const int ox = m % c.Wo, t = m / c.Wo, oy = t % c.Ho, b = t / c.Ho;
            pix[i] = b * c.H * c.W;
            iy0[i] = m < M ? oy * c.sh - c.pt : -(1 << 30);  // past M: never inside the image
            ix0[i] = ox * c.sw - c.pl;
        }
    }

    __device__ __forceinline__ void load(int kt, uint32_t stage, uint32_t full, int lane) {
        if (lane == 0) {
            mbar_arrive_expect_tx(full, WG_B_BYTES);
            tma_load_3d(stage + WG_A_BYTES, tmB, kt * WG_BK, n0, 0, full);
        }
        const int tap = kt / cblocks, ch = (kt - tap * cblocks) * WG_BK;
        const int r = tap / c.kw, s = tap - r * c.kw;
        const int swz = (lane >> 1) & 7, half = lane & 1;
#pragma unroll
        for (int i = 0; i < ROWS; i++) {
            const int iy = iy0[i] + r, ix = ix0[i] + s;
            const bool in = (unsigned)iy < (unsigned)c.H && (unsigned)ix < (unsigned)c.W;
            const T* src = in ? x + (long long)(pix[i] + iy * c.W + ix) * c.Cin + ch : x;
            const uint32_t row = stage + ((lane >> 1) + 16 * i) * (WG_BK * 2);
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const int chunk = 2 * j + half;
                cp_async16_shared(row + ((chunk ^ swz) << 4), in ? src + chunk * 8 : x, in ? 16 : 0);
            }
        }
        cp_async_arrive_noinc(full);
    }
};

template <typename T, WgEpi EPI>
__device__ __forceinline__ void wgmma_conv_body(const CUtensorMap* tmB, const WgmmaEpilogue& e, const ConvArgs& c, const void* x,
                                                const SplitK& sk) {
    ConvGatherProducer<T> p{tmB, static_cast<const T*>(x), c, e.M, 0, 0};
    wgmma_block<T, EPI>(p, e, e.K / WG_BK, sk);
}

#define WGMMA_CONV(T, S)                                                                                  \
    extern "C" __global__ void __launch_bounds__(WG_THREADS, 2)                                          \
        conv_wgmma_##S(const __grid_constant__ CUtensorMap tmB, const WgmmaEpilogue e, const ConvArgs c, const void* x) { \
        wgmma_conv_body<T, WG_PLAIN>(&tmB, e, c, x, SplitK{});                                           \
    }                                                                                                    \
    extern "C" __global__ void __launch_bounds__(WG_THREADS, 2)                                          \
        conv_wgmma_##S##_split(const __grid_constant__ CUtensorMap tmB, const WgmmaEpilogue e, const ConvArgs c, const void* x, \
                               const SplitK sk) {                                                        \
        wgmma_conv_body<T, WG_SPLIT>(&tmB, e, c, x, sk);                                                  \
    }

#else  // no wgmma/TMA on this target: the entry points exist so every fatbin lists the same names

#define WGMMA_CONV(T, S)                                                                                  \
    extern "C" __global__ void __launch_bounds__(WG_THREADS, 2)                                          \
        conv_wgmma_##S(const __grid_constant__ CUtensorMap tmB, const WgmmaEpilogue e, const ConvArgs c, const void* x) { \
        __trap();                                                                                        \
    }                                                                                                    \
    extern "C" __global__ void __launch_bounds__(WG_THREADS, 2)                                          \
        conv_wgmma_##S##_split(const __grid_constant__ CUtensorMap tmB, const WgmmaEpilogue e, const ConvArgs c, const void* x, \
                               const SplitK sk) {                                                        \
        __trap();                                                                                        \
    }

#endif

WGMMA_CONV(f16, f16)
WGMMA_CONV(bf16, bf16)
