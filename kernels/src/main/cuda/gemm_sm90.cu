// Hopper GEMM: C[M,N] = alpha * A[M,K] B[N,K]^T + bias[N] + beta * R[M,N], both operands K-major,
// F16 or BF16 in, F32 accumulation, output in the input dtype. Batched over blockIdx.z.
//
// The block of sm90.cuh with a TMA producer: one thread of the producer warp moves both 128x64
// tiles of each stage global -> shared through the tensor-memory accelerator (cp.async.bulk.tensor),
// 128-byte swizzled, announcing their bytes on the stage's `full` barrier (the copy engine counts
// them down); wgmma.mma_async reads them straight from shared memory through matrix descriptors.
//
// Host contract (CudaWgmmaGemm / TensorMapSpec): tensor maps of rank 3 {K, rows, batches} with a
// {64, 128, 1} box, CU_TENSOR_MAP_SWIZZLE_128B, zero fill out of bounds (so partial tiles along
// M, N and K read zeros); a broadcast operand has one batch entry (batchA/batchB == 1). Launch:
// grid (ceil(N/128), ceil(M/128), batches), 288 threads, WGMMA_SMEM_BYTES of dynamic shared memory,
// two blocks per SM. gemm_wgmma_<t>_nt_split: the same with split-K (sm90.cuh), grid z = batches * splits.
// gemm_wgmma_<t>_nt_geglu: linear + GEGLU (sm90.cuh's WG_GEGLU), B = the [2 * inner, K] weight with a
// {64, 64, 1} box, two B boxes per stage (value rows j0.., gate rows inner + j0..); grid
// (inner / 64, ceil(M/128), 1); inner % 64 == 0.
// Other targets than sm_90a compile a body that traps (the host launches these kernels only on
// compute capability 9.0). tools/wgmma_replay.py replays the tile maths (swizzled TMA boxes,
// descriptors, fragments, epilogue) in numpy: keep it in step. The kernel itself runs on the host
// emulator (src/test/emu/emu_sm90.h, gemm_sm90_test.cpp).
#include "sm90.cuh"

#ifdef D4J_SM90

// Both tiles by TMA, from one lane.
struct TmaProducer {
    static constexpr int LANES = 1, FULL_ARRIVALS = 1;  // the arrive_expect_tx
    static constexpr bool GENERIC_A = false;
    const CUtensorMap* tmA;
    const CUtensorMap* tmB;
    int batchA, batchB, zA, zB, m0, n0;
    __device__ __forceinline__ void begin(int, int m, int n, int batch) {
        tma_prefetch_map(tmA);
        tma_prefetch_map(tmB);
        m0 = m, n0 = n;
        zA = batchA == 1 ? 0 : batch, zB = batchB == 1 ? 0 : batch;
    }
    __device__ __forceinline__ void load(int kt, uint32_t stage, uint32_t full, int) {
        mbar_arrive_expect_tx(full, WG_STAGE_BYTES);  // out-of-bounds elements are zero-filled and still counted
        tma_load_3d(stage, tmA, kt * WG_BK, m0, zA, full);
        tma_load_3d(stage + WG_A_BYTES, tmB, kt * WG_BK, n0, zB, full);
    }
};

// The GEGLU tile's B: value rows j0..j0+63 and gate rows inner + j0.. of the weight, in the two
// halves of the stage's B tile (each 8 KiB, so both start on a 1024-byte swizzle atom).
struct GegluTmaProducer {
    static constexpr int LANES = 1, FULL_ARRIVALS = 1;
    static constexpr bool GENERIC_A = false;
    const CUtensorMap* tmA;
    const CUtensorMap* tmB;
    int inner, m0, j0;
    __device__ __forceinline__ void begin(int, int m, int n, int) {
        tma_prefetch_map(tmA);
        tma_prefetch_map(tmB);
        m0 = m, j0 = n / 2;
    }
    __device__ __forceinline__ void load(int kt, uint32_t stage, uint32_t full, int) {
        mbar_arrive_expect_tx(full, WG_STAGE_BYTES);
        tma_load_3d(stage, tmA, kt * WG_BK, m0, 0, full);
        tma_load_3d(stage + WG_A_BYTES, tmB, kt * WG_BK, j0, 0, full);
        tma_load_3d(stage + WG_A_BYTES + WG_B_BYTES / 2, tmB, kt * WG_BK, inner + j0, 0, full);
    }
};

template <typename T, WgEpi EPI>
__device__ __forceinline__ void wgmma_gemm_body(const CUtensorMap* tmA, const CUtensorMap* tmB, const WgmmaEpilogue& e, const SplitK& sk) {
    if constexpr (EPI == WG_GEGLU) {
        GegluTmaProducer p{tmA, tmB, e.N, 0, 0};
        wgmma_block<T, EPI>(p, e, (e.K + WG_BK - 1) / WG_BK, sk);
    } else {
        TmaProducer p{tmA, tmB, e.batchA, e.batchB, 0, 0, 0, 0};
        wgmma_block<T, EPI>(p, e, (e.K + WG_BK - 1) / WG_BK, sk);
    }
}

#define WGMMA_GEMM(T, S)                                                                                  \
    extern "C" __global__ void __launch_bounds__(WG_THREADS, 2)                                          \
        gemm_wgmma_##S##_nt(const __grid_constant__ CUtensorMap tmA, const __grid_constant__ CUtensorMap tmB, \
                            const WgmmaEpilogue e) {                                                     \
        wgmma_gemm_body<T, WG_PLAIN>(&tmA, &tmB, e, SplitK{});                                           \
    }                                                                                                    \
    extern "C" __global__ void __launch_bounds__(WG_THREADS, 2)                                          \
        gemm_wgmma_##S##_nt_split(const __grid_constant__ CUtensorMap tmA, const __grid_constant__ CUtensorMap tmB, \
                                  const WgmmaEpilogue e, const SplitK sk) {                              \
        wgmma_gemm_body<T, WG_SPLIT>(&tmA, &tmB, e, sk);                                                 \
    }                                                                                                    \
    extern "C" __global__ void __launch_bounds__(WG_THREADS, 2)                                          \
        gemm_wgmma_##S##_nt_geglu(const __grid_constant__ CUtensorMap tmA, const __grid_constant__ CUtensorMap tmB, \
                                  const WgmmaEpilogue e) {                                               \
        wgmma_gemm_body<T, WG_GEGLU>(&tmA, &tmB, e, SplitK{});                                           \
    }

#else  // no wgmma/TMA on this target: the entry points exist so every fatbin lists the same names

#define WGMMA_GEMM(T, S)                                                                                  \
    extern "C" __global__ void __launch_bounds__(WG_THREADS, 2)                                          \
        gemm_wgmma_##S##_nt(const __grid_constant__ CUtensorMap tmA, const __grid_constant__ CUtensorMap tmB, \
                            const WgmmaEpilogue e) {                                                     \
        __trap();                                                                                        \
    }                                                                                                    \
    extern "C" __global__ void __launch_bounds__(WG_THREADS, 2)                                          \
        gemm_wgmma_##S##_nt_split(const __grid_constant__ CUtensorMap tmA, const __grid_constant__ CUtensorMap tmB, \
                                  const WgmmaEpilogue e, const SplitK sk) {                              \
        __trap();                                                                                        \
    }                                                                                                    \
    extern "C" __global__ void __launch_bounds__(WG_THREADS, 2)                                          \
        gemm_wgmma_##S##_nt_geglu(const __grid_constant__ CUtensorMap tmA, const __grid_constant__ CUtensorMap tmB, \
                                  const WgmmaEpilogue e) {                                               \
        __trap();                                                                                        \
    }

#endif

WGMMA_GEMM(f16, f16)
WGMMA_GEMM(bf16, bf16)
