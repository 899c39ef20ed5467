// Hopper (sm_90a) building blocks of the wgmma kernels (gemm_sm90.cu, conv_sm90.cu): mbarriers,
// TMA tensor copies, cp.async into a stage, wgmma.mma_async with shared-memory descriptors, and the
// block both kernels share.
//
// The block computes a 128x128 tile of C = alpha * A B^T + bias + beta * R (F32 accumulation) over
// K in tiles of 64, through a WG_STAGES-deep ring of 128B-swizzled stages in shared memory. Warp
// specialised: warps 0-7 are two consumer warpgroups (rows 0-63 and 64-127 of the tile, one
// m64n128k16 per 16 of K), warp 8 is the producer. Two mbarriers per stage: `full` (completes when
// the stage's A and B tiles have landed) and `empty` (each consumer warp arrives once its wgmma
// reading the stage has retired). How a stage is filled is the kernel's: its Producer.
//
// Epilogues (WgEpi): WG_PLAIN writes C = alpha * acc + bias + beta * R. WG_SPLIT is split-K: grid z = batches * sk.splits; block z sums K tiles [part * per, part * per + per)
// of batch z / splits (part = z % splits) and writes its raw F32 sums to sk.ws + z * M * N, which
// gemm.cu's splitk_reduce adds up in order with the epilogue, as for the mma.sync kernels. Small
// grids (SD's 8x8 and 16x16 levels: 10-40 tiles of 128x128 for 132 SMs) fill the GPU that way.
// WG_GEGLU fuses diffusers' FF1 activation: the tile's columns 0-63 are value features j0..j0+63
// (j0 = 64 * blockIdx.x) of h = x W^T + b, its columns 64-127 the matching gate features inner + j0..,
// and C[m, j] = (h[m, j]) * gelu_erf(h[m, inner + j]) is [M, inner] (e.N = inner, ldc = inner).
enum WgEpi { WG_PLAIN, WG_SPLIT, WG_GEGLU };
#pragma once
#include <cuda.h>
#include "gemm.cuh"  // SplitK, ConvArgs; mma.cuh (pack2), common.cuh

struct WgmmaEpilogue {
    void* C; const void* bias; const void* R;
    long long ldc, ldr, sC, sR;  // row and batch strides of C and R (elements)
    int M, N, K, biasCode;
    float alpha, beta;
    int batchA, batchB;          // batch entries in A's / B's tensor map: 1 = broadcast over the batch
};
// Mirrored by CudaWgmmaGemm.epilogue in the Java backend. The conv kernel uses batch 1 (sC, sR, batchA/B unused).
static_assert(sizeof(WgmmaEpilogue) == 88 && offsetof(WgmmaEpilogue, ldc) == 24 && offsetof(WgmmaEpilogue, M) == 56 &&
              offsetof(WgmmaEpilogue, alpha) == 72 && offsetof(WgmmaEpilogue, batchA) == 80, "WgmmaEpilogue layout");

constexpr int WG_BM = 128, WG_BN = 128, WG_BK = 64;  // BK * 2 bytes = one 128-byte swizzle row
// Three stages (97 KiB) so that two blocks share an SM: one block's epilogue overlaps the other's
// main loop, which a non-persistent kernel otherwise leaves idle (96 registers x 288 threads x 2 fit).
constexpr int WG_STAGES = 3;
constexpr int WG_CONSUMER_WARPS = 8;                 // two warpgroups
constexpr int WG_THREADS = (WG_CONSUMER_WARPS + 1) * 32;
constexpr int WG_A_BYTES = WG_BM * WG_BK * 2, WG_B_BYTES = WG_BN * WG_BK * 2;
constexpr int WG_STAGE_BYTES = WG_A_BYTES + WG_B_BYTES;
constexpr int WGMMA_SMEM_BYTES = WG_STAGES * WG_STAGE_BYTES + 1024;  // + slack to align the ring to 1024 B
static_assert(WGMMA_SMEM_BYTES == 99328, "CudaWgmmaGemm.SMEM_BYTES");


// wgmma and the tensor-map copies exist only on sm_90a: D4J_SM90 marks the passes that have them. The
// host emulator (D4J_HOST_EMU, kernels/src/test/emu) compiles the real bodies with emulated twins of
// the asm wrappers (emu_sm90.h).
#if defined(D4J_HOST_EMU) || (defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL))
#define D4J_SM90 1

#ifdef D4J_HOST_EMU
#include "emu_sm90.h"
#endif

__device__ __forceinline__ uint32_t sm90_smem(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }

#ifndef D4J_HOST_EMU
// The dynamic shared memory, with no alignment of its own (the ring aligns itself to 1024 bytes).
#define SM90_DYNAMIC_SMEM(name) extern __shared__ unsigned char name[]

// ------------------------------------------------------------------------------ mbarriers
__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
// Makes the initialisations visible to the copy engine (and the rest of the cluster).
__device__ __forceinline__ void mbar_init_fence() { asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory"); }
__device__ __forceinline__ void mbar_arrive(uint32_t bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// Arrives and raises the phase's expected transaction bytes (the TMA copies count them down).
__device__ __forceinline__ void mbar_arrive_expect_tx(uint32_t bar, uint32_t bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
// Whether the phase with the given parity has completed (may suspend the thread for a while first).
__device__ __forceinline__ bool mbar_try_wait(uint32_t bar, uint32_t parity) {
    uint32_t done;
    asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done) : "r"(bar), "r"(parity) : "memory");
    return done != 0;
}

// ------------------------------------------------------------------------------ TMA
__device__ __forceinline__ void tma_load_3d(uint32_t dst, const CUtensorMap* map, int c0, int c1, int c2, uint32_t bar) {
    asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];\n"
                 ::"r"(dst), "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(bar) : "memory");
}
__device__ __forceinline__ void tma_prefetch_map(const CUtensorMap* map) {
    asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
}

// ------------------------------------------------------------------------------ cp.async into a stage
// 16 bytes global -> shared at a shared-window address; bytes = 0 writes zeros (nothing is read).
__device__ __forceinline__ void cp_async16_shared(uint32_t dst, const void* src, uint32_t bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(bytes) : "memory");
}
// One arrival on `bar` once every cp.async this thread issued before has landed; .noinc: the arrival
// is one of those the barrier was initialised to expect.
__device__ __forceinline__ void cp_async_arrive_noinc(uint32_t bar) {
    asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(bar) : "memory");
}
// Orders shared-memory writes of the generic proxy (cp.async, st.shared) that this thread has seen
// before the async proxy's reads that follow (wgmma operands).
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// ------------------------------------------------------------------------------ wgmma
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory"); }

// Keeps the compiler from moving accumulator reads/writes across the asynchronous wgmma.
template <int N> __device__ __forceinline__ void acc_fence(float (&d)[N]) {
#pragma unroll
    for (int i = 0; i < N; i++) asm volatile("" : "+f"(d[i])::"memory");
}

// Named barrier `id` (1-15; 0 is __syncthreads) over `count` threads of the block (a multiple of 32).
__device__ __forceinline__ void named_bar_sync(uint32_t id, uint32_t count) {
    asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(count) : "memory");
}

#define WG_ACC8(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
#define WG_ACC64 WG_ACC8(0), WG_ACC8(8), WG_ACC8(16), WG_ACC8(24), WG_ACC8(32), WG_ACC8(40), WG_ACC8(48), WG_ACC8(56)
#define WG_REGS64                                                                                         \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                           \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "                  \
    "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "                  \
    "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"

// d[64x128] += A[64x16] B[128x16]^T, both from shared memory, K-major (trans-a = trans-b = 0); the
// predicate scale-d = 1 accumulates into d, scale-a = scale-b = 1 (no negation).
template <typename T> __device__ __forceinline__ void wgmma_m64n128k16(float (&d)[64], uint64_t da, uint64_t db);
template <> __device__ __forceinline__ void wgmma_m64n128k16<f16>(float (&d)[64], uint64_t da, uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 " WG_REGS64 ", %64, %65, p, 1, 1, 0, 0;\n}\n"
                 : WG_ACC64 : "l"(da), "l"(db), "n"(1));
}
template <> __device__ __forceinline__ void wgmma_m64n128k16<bf16>(float (&d)[64], uint64_t da, uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " WG_REGS64 ", %64, %65, p, 1, 1, 0, 0;\n}\n"
                 : WG_ACC64 : "l"(da), "l"(db), "n"(1));
}

#define WG_ACC32 WG_ACC8(0), WG_ACC8(8), WG_ACC8(16), WG_ACC8(24)
#define WG_REGS32                                                                                         \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                           \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
// d[64x64] += A[64x16] B[16x64], A from registers (the m64nNk16 A fragment: warp w holds rows
// 16w.., as mma.m16n8k16's A), B from shared memory N-major (trans-b = 1: each k one 128-byte row of
// 64 consecutive n, sw128_desc).
template <typename T> __device__ __forceinline__ void wgmma_m64n64k16_rs_tn(float (&d)[32], const uint32_t (&a)[4], uint64_t db);
template <> __device__ __forceinline__ void wgmma_m64n64k16_rs_tn<f16>(float (&d)[32], const uint32_t (&a)[4], uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 " WG_REGS32 ", {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
                 : WG_ACC32 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "n"(1));
}
template <> __device__ __forceinline__ void wgmma_m64n64k16_rs_tn<bf16>(float (&d)[32], const uint32_t (&a)[4], uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " WG_REGS32 ", {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
                 : WG_ACC32 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "n"(1));
}
#endif  // !D4J_HOST_EMU

// Spins until the phase with the given parity has completed. A fresh barrier is in phase 0, so
// waiting for parity 1 returns at once (how the producer finds every stage free on its first lap).
// No block waits seconds for its own copies or MMAs: after ~2^34 cycles (about 10 s) a wait traps,
// so a pipeline bug surfaces as a launch error naming the kernel instead of a hung GPU.
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) {
    long long t0 = -1;
    for (;;) {
        if (mbar_try_wait(bar, parity)) return;
        long long t = clock64();
        if (t0 < 0) t0 = t;
        else if (t - t0 > (1ll << 34)) __trap();
    }
}

// Shared-memory matrix descriptor of a tile whose 128-byte rows were written with the 128B swizzle
// (a TMA box of 64 16-bit columns): start address >> 4 in bits 0-13, leading byte offset 1 in 16-29,
// stride byte offset 1024 >> 4 (from one 8-row swizzle atom to the next) in 32-45, base offset 0
// (tiles are 1024-byte aligned) in 49-51, layout 1 = 128B swizzle in 62-63. The same bits describe
// both readings of such a tile: K-major (rows are M or N, trans 0; the LBO is unused) and N-major
// (rows are K, each 64 consecutive n, trans-b 1; the LBO would step to the next 64 n, unused for N <= 64).
__device__ __forceinline__ uint64_t sw128_desc(uint32_t saddr) {
    return (uint64_t)((saddr & 0x3FFFF) >> 4) | (1ull << 16) | ((uint64_t)(1024 >> 4) << 32) | (1ull << 62);
}

template <typename T> __device__ __forceinline__ void store_pair(T* dst, float v0, float v1, bool second) {
    if (second && (reinterpret_cast<uintptr_t>(dst) & 3) == 0) {
        *reinterpret_cast<uint32_t*>(dst) = pack2<T>(v0, v1);
    } else {
        dst[0] = from_f32<T>(v0);
        if (second) dst[1] = from_f32<T>(v1);
    }
}


// ------------------------------------------------------------------------------ the block
// Producer contract: FULL_ARRIVALS, the arrivals that complete a stage's `full` phase; LANES, the
// producer warp's lanes that take part (the others leave at once); begin(lane, m0, n0, batch) once, then
// load(kt, stage, full, lane) for each K tile, on every taking lane, once the stage is free: it
// must bring A (WG_A_BYTES) to `stage` and B (WG_B_BYTES) to stage + WG_A_BYTES, 128B-swizzled, and
// make FULL_ARRIVALS arrivals on `full` (transaction bytes included) between its lanes.
// GENERIC_A: A is written by the generic proxy (cp.async), so consumers fence it before wgmma.
template <typename T, WgEpi EPI, typename Producer>
__device__ __forceinline__ void wgmma_block(Producer& producer, const WgmmaEpilogue& e, int KT, const SplitK& sk) {
    constexpr bool SPLIT = EPI == WG_SPLIT;
    SM90_DYNAMIC_SMEM(smem_raw);
    __shared__ __align__(8) uint64_t full[WG_STAGES], empty[WG_STAGES];
    // 128B-swizzled tiles must start on a 1024-byte boundary (the swizzle pattern repeats every 8 rows
    // of 128 bytes and the descriptors' base offset is 0).
    const uint32_t ring = (sm90_smem(smem_raw) + 1023u) & ~1023u;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int m0 = blockIdx.y * WG_BM, n0 = blockIdx.x * WG_BN;
    const int z = blockIdx.z, batch = SPLIT ? z / sk.splits : z;
    const int kt0 = SPLIT ? (z - batch * sk.splits) * sk.per : 0, tiles = SPLIT ? min(KT - kt0, sk.per) : KT;

    if (threadIdx.x == 0) {
#pragma unroll
        for (int s = 0; s < WG_STAGES; s++) {
            mbar_init(sm90_smem(&full[s]), Producer::FULL_ARRIVALS);
            mbar_init(sm90_smem(&empty[s]), WG_CONSUMER_WARPS);  // one arrive per consumer warp
        }
        mbar_init_fence();
    }
    __syncthreads();

    if (warp == WG_CONSUMER_WARPS) {
        if (lane >= Producer::LANES) return;
        producer.begin(lane, m0, n0, batch);
        for (int i = 0; i < tiles; i++) {
            const int s = i % WG_STAGES;
            mbar_wait(sm90_smem(&empty[s]), ((i / WG_STAGES) & 1) ^ 1);
            producer.load(kt0 + i, ring + s * WG_STAGE_BYTES, sm90_smem(&full[s]), lane);
        }
        return;
    }

    // Consumers: warpgroup g computes rows [64g, 64g + 64) of the tile against all 128 columns.
    const int g = warp >> 2;
    float d[64];
#pragma unroll
    for (int i = 0; i < 64; i++) d[i] = 0.f;
    acc_fence(d);

    for (int i = 0; i < tiles; i++) {
        const int s = i % WG_STAGES;
        mbar_wait(sm90_smem(&full[s]), (i / WG_STAGES) & 1);
        if (Producer::GENERIC_A) fence_proxy_async();
        const uint32_t a = ring + s * WG_STAGE_BYTES;
        const uint64_t da = sw128_desc(a + g * 64 * (WG_BK * 2)), db = sw128_desc(a + WG_A_BYTES);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < WG_BK / 16; kk++)  // 16 elements = 32 bytes further along the swizzled row: +2 in the address field
            wgmma_m64n128k16<T>(d, da + 2 * kk, db + 2 * kk);
        wgmma_commit();
        acc_fence(d);
        // Keep this stage's group in flight; the previous one has now retired, so its stage is free.
        wgmma_wait<1>();
        acc_fence(d);
        if (i > 0) {
            __syncwarp();
            if (lane == 0) mbar_arrive(sm90_smem(&empty[(i - 1) % WG_STAGES]));
        }
    }
    wgmma_wait<0>();
    acc_fence(d);

    // Epilogue. Accumulator layout of m64nNk16 (F32): within warp w of the group, thread lane holds
    // rows 16w + lane/4 (+8) and columns 8j + 2(lane%4) (+1): d[4j + {0,1}] on the first row,
    // d[4j + {2,3}] on the second.
    const int row0 = m0 + g * 64 + (warp & 3) * 16 + (lane >> 2);
    if constexpr (SPLIT) {  // raw sums of this split; splitk_reduce does the epilogue
        float* W = sk.ws + (long long)z * e.M * e.N;
#pragma unroll
        for (int j = 0; j < 16; j++) {
            const int n = n0 + j * 8 + 2 * (lane & 3);
            if (n >= e.N) continue;
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const int m = row0 + 8 * h;
                if (m >= e.M) continue;
                float* dst = W + (long long)m * e.N + n;
                if (n + 1 < e.N && (e.N & 1) == 0) {
                    *reinterpret_cast<float2*>(dst) = make_float2(d[4 * j + 2 * h], d[4 * j + 2 * h + 1]);
                } else {
                    dst[0] = d[4 * j + 2 * h];
                    if (n + 1 < e.N) dst[1] = d[4 * j + 2 * h + 1];
                }
            }
        }
        return;
    }
    if constexpr (EPI == WG_GEGLU) {
        T* C = static_cast<T*>(e.C) + (long long)batch * e.sC;
        const int j0 = blockIdx.x * (WG_BN / 2);
#pragma unroll
        for (int j = 0; j < 8; j++) {  // value columns 8j + 2(lane % 4) (+1); their gates are 64 further, d[4(j + 8) + ..]
            const int n = j0 + j * 8 + 2 * (lane & 3);
            if (n >= e.N) continue;
            const float bv0 = load_any(e.bias, e.biasCode, n, 0.f), bv1 = load_any(e.bias, e.biasCode, n + 1, 0.f);
            const float bg0 = load_any(e.bias, e.biasCode, e.N + n, 0.f), bg1 = load_any(e.bias, e.biasCode, e.N + n + 1, 0.f);
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const int m = row0 + 8 * h;
                if (m >= e.M) continue;
                const float v0 = (d[4 * j + 2 * h] + bv0) * gelu_erf_f(d[4 * (j + 8) + 2 * h] + bg0);
                const float v1 = (d[4 * j + 2 * h + 1] + bv1) * gelu_erf_f(d[4 * (j + 8) + 2 * h + 1] + bg1);
                store_pair<T>(C + (long long)m * e.ldc + n, v0, v1, true);
            }
        }
        return;
    }
    T* C = static_cast<T*>(e.C) + (long long)batch * e.sC;
    const T* R = e.R ? static_cast<const T*>(e.R) + (long long)batch * e.sR : nullptr;
#pragma unroll
    for (int j = 0; j < 16; j++) {
        const int n = n0 + j * 8 + 2 * (lane & 3);
        if (n >= e.N) continue;
        const bool second = n + 1 < e.N;
        const float b0 = load_any(e.bias, e.biasCode, n, 0.f), b1 = second ? load_any(e.bias, e.biasCode, n + 1, 0.f) : 0.f;
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int m = row0 + 8 * h;
            if (m >= e.M) continue;
            float v0 = e.alpha * d[4 * j + 2 * h] + b0, v1 = e.alpha * d[4 * j + 2 * h + 1] + b1;
            if (R) {
                const T* r = R + (long long)m * e.ldr + n;
                v0 += e.beta * to_f32(r[0]);
                if (second) v1 += e.beta * to_f32(r[1]);
            }
            store_pair<T>(C + (long long)m * e.ldc + n, v0, v1, second);
        }
    }
}

#endif  // D4J_SM90
