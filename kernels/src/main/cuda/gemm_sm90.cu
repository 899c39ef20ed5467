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
// two blocks per SM.
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
    int zA, zB, m0, n0;
    __device__ __forceinline__ void begin(int, int m, int n) {
        tma_prefetch_map(tmA);
        tma_prefetch_map(tmB);
        m0 = m, n0 = n;
    }
    __device__ __forceinline__ void load(int kt, uint32_t stage, uint32_t full, int) {
        mbar_arrive_expect_tx(full, WG_STAGE_BYTES);  // out-of-bounds elements are zero-filled and still counted
        tma_load_3d(stage, tmA, kt * WG_BK, m0, zA, full);
        tma_load_3d(stage + WG_A_BYTES, tmB, kt * WG_BK, n0, zB, full);
    }
};

template <typename T>
__device__ __forceinline__ void wgmma_gemm_body(const CUtensorMap* tmA, const CUtensorMap* tmB, const WgmmaEpilogue& e) {
    TmaProducer p{tmA, tmB, e.batchA == 1 ? 0 : (int)blockIdx.z, e.batchB == 1 ? 0 : (int)blockIdx.z, 0, 0};
    wgmma_block<T>(p, e, (e.K + WG_BK - 1) / WG_BK);
}

#define WGMMA_GEMM(T, S)                                                                                  \
    extern "C" __global__ void __launch_bounds__(WG_THREADS, 2)                                          \
        gemm_wgmma_##S##_nt(const __grid_constant__ CUtensorMap tmA, const __grid_constant__ CUtensorMap tmB, \
                            const WgmmaEpilogue e) {                                                     \
        wgmma_gemm_body<T>(&tmA, &tmB, e);                                                               \
    }

#else  // no wgmma/TMA on this target: the entry points exist so every fatbin lists the same names

#define WGMMA_GEMM(T, S)                                                                                  \
    extern "C" __global__ void __launch_bounds__(WG_THREADS, 2)                                          \
        gemm_wgmma_##S##_nt(const __grid_constant__ CUtensorMap tmA, const __grid_constant__ CUtensorMap tmB, \
                            const WgmmaEpilogue e) {                                                     \
        __trap();                                                                                        \
    }

#endif

WGMMA_GEMM(f16, f16)
WGMMA_GEMM(bf16, bf16)
