// Hopper flash attention for head dim 64 (every SDXL head; SD1.5's are 40/80/160): the contract of
// attention.cu's flash kernels (joint segments with item maps, AdaIN affines, causal, stratified
// accumulation, log-sum-exp for the map pass), with both products on wgmma.
//
// Block: 128 queries of one (item, head), warp specialised as in sm90.cuh. Warp 8 is the producer:
// one lane brings the Q tile once, then a K tile and a V tile of 128 keys per stage of a 2-deep
// ring, by TMA (128B swizzle; rows past the tensor read as zeros). Warps 0-7 are two consumer
// warpgroups of 64 queries each. Per key tile a consumer group computes S = Q K^T (4 x m64n128k16,
// both operands in shared memory, K-major), runs the online softmax on S in registers, and adds
// P V (8 x m64n64k16): P goes straight from the S accumulators to wgmma's register A operand (the
// accumulator layout of two n8 blocks is the A layout of one k16 step) and V is read N-major from
// the same 128B-swizzled tile (trans-b). The two groups share each stage; each consumer warp
// releases it once its MMAs retired.
//
// AdaIN: the affines x * a + c are applied to the tiles in shared memory: Q by its own group, the
// K / V tiles of segment 0 by both groups (half the rows each), then fence.proxy.async (generic
// writes -> wgmma's async-proxy reads) and a named barrier before any wgmma reads them.
//
// Host contract (CudaAttention / TensorMapSpec.kMajor): tensor maps of rank 3 {H*D, tokens, rows}
// with a {64, 128, 1} box, 128B swizzle, zero fill; Q's rows are the items, segment j's the K/V rows
// its item map names. Launch: grid (ceil(Nq / 128), H, B), 288 threads, FLASH_WGMMA_SMEM_BYTES of
// dynamic shared memory. Other targets than sm_90a compile a body that traps.
#include "attention.cuh"
#include "sm90.cuh"

constexpr int FW_BQ = 128, FW_BK = 128, FW_D = 64, FW_STAGES = 2;
constexpr int FW_TILE_BYTES = FW_BQ * FW_D * 2;  // Q, K or V: 128 rows of one 128-byte swizzle row
static_assert(FW_BK == FW_BQ && FW_D * 2 == 128, "one tile size for Q, K and V, rows of one swizzle span");
constexpr int FW_STAGE_BYTES = 2 * FW_TILE_BYTES;
constexpr int FLASH_WGMMA_SMEM_BYTES = FW_TILE_BYTES + FW_STAGES * FW_STAGE_BYTES + 1024;  // + slack for 1024-byte alignment
static_assert(FLASH_WGMMA_SMEM_BYTES == 82944, "CudaAttention.WGMMA_SMEM_BYTES");

// The tensor maps of one launch: Q, then K and V of each segment slot (unused slots zero).
struct FwMaps {
    CUtensorMap q, k[ATT_MAX_SEG], v[ATT_MAX_SEG];
};
static_assert(sizeof(FwMaps) == 9 * 128, "FwMaps layout (CudaAttention.wgmma)");

#ifdef D4J_SM90

using FwTiles = KvTiles<FW_BQ, FW_BK>;

// x = x * a[ch] + c[ch] on `rows` rows of a 1024-byte aligned, 128B-swizzled [rows][64] tile, the
// 16-byte chunks shared out over `n` threads (this one is i). Chunk k of row r holds channels
// 8 (k ^ (r % 8)) .. +7.
template <typename T>
__device__ __forceinline__ void sw128_affine(unsigned char* tile, int rows, int i, int n, const float* a, const float* c) {
    for (int id = i; id < rows * 8; id += n) {
        const int r = id >> 3, chunk = id & 7, ch = (chunk ^ (r & 7)) * 8;
        T* x = reinterpret_cast<T*>(tile + r * 128 + chunk * 16);
#pragma unroll
        for (int e = 0; e < 8; e++) x[e] = from_f32<T>(fmaf(to_f32(x[e]), a[ch + e], c[ch + e]));
    }
}

// Named barriers: 1 and 2 for one consumer group's Q, 3 for both groups' K / V tiles.
constexpr uint32_t FW_BAR_Q = 1, FW_BAR_KV = 3;

template <typename T>
__device__ __forceinline__ void flash_wgmma_body(const FwMaps& maps, const AttnParams& p) {
    SM90_DYNAMIC_SMEM(smem_raw);
    __shared__ __align__(8) uint64_t qfull, full[FW_STAGES], empty[FW_STAGES];
    const uint32_t raw = sm90_smem(smem_raw), base = (raw + 1023u) & ~1023u;
    unsigned char* tiles = smem_raw + (base - raw);  // the same bytes through a generic pointer (AdaIN)
    const uint32_t sQ = base, ring = base + FW_TILE_BYTES;
    const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * FW_BQ;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;

    const FwTiles start = FwTiles::first(p, b, q0);
    if (p.accumulate && !start.valid(p)) return;  // stratified launch of a segment this item lacks

    if (threadIdx.x == 0) {
        mbar_init(sm90_smem(&qfull), 1);
#pragma unroll
        for (int s = 0; s < FW_STAGES; s++) {
            mbar_init(sm90_smem(&full[s]), 1);
            mbar_init(sm90_smem(&empty[s]), WG_CONSUMER_WARPS);
        }
        mbar_init_fence();
    }
    __syncthreads();

    if (warp == WG_CONSUMER_WARPS) {  // producer
        if (lane != 0) return;
        tma_prefetch_map(&maps.q);
        mbar_arrive_expect_tx(sm90_smem(&qfull), FW_TILE_BYTES);
        tma_load_3d(sQ, &maps.q, h * FW_D, q0, b, sm90_smem(&qfull));
        int i = 0;
        for (FwTiles c = start; c.valid(p); c.next(p, b, q0), i++) {
            const int s = i % FW_STAGES, row = p.map[c.seg][b];
            const uint32_t stage = ring + s * FW_STAGE_BYTES, bar = sm90_smem(&full[s]);
            mbar_wait(sm90_smem(&empty[s]), ((i / FW_STAGES) & 1) ^ 1);
            mbar_arrive_expect_tx(bar, FW_STAGE_BYTES);  // zero-filled rows count too
            tma_load_3d(stage, &maps.k[c.seg], h * FW_D, c.tile * FW_BK, row, bar);
            tma_load_3d(stage + FW_TILE_BYTES, &maps.v[c.seg], h * FW_D, c.tile * FW_BK, row, bar);
        }
        return;
    }

    // Consumer group g: queries q0 + 64g .. +63; this thread's rows qrow and qrow + 8.
    const int g = warp >> 2, qrow = q0 + g * 64 + (warp & 3) * 16 + (lane >> 2);
    const int coef = b * p.H * FW_D + h * FW_D;  // AdaIN coefficient row
    mbar_wait(sm90_smem(&qfull), 0);
    if (p.qa) {
        sw128_affine<T>(tiles + g * (FW_TILE_BYTES / 2), 64, threadIdx.x & 127, 128, p.qa + coef, p.qc + coef);
        fence_proxy_async();
        named_bar_sync(FW_BAR_Q + g, 128);
    }
    const uint64_t dq = sw128_desc(sQ + g * (FW_TILE_BYTES / 2));

    float o[8][4];
#pragma unroll
    for (int j = 0; j < 8; j++)
#pragma unroll
        for (int e = 0; e < 4; e++) o[j][e] = 0.f;
    float mrow[2] = {-INFINITY, -INFINITY}, lrow[2] = {0.f, 0.f};
    float (&oacc)[32] = reinterpret_cast<float (&)[32]>(o);

    int i = 0;
    for (FwTiles c = start; c.valid(p); c.next(p, b, q0), i++) {
        const int s = i % FW_STAGES;
        const uint32_t stage = ring + s * FW_STAGE_BYTES;
        mbar_wait(sm90_smem(&full[s]), (i / FW_STAGES) & 1);
        if (c.seg == 0 && (p.ka || p.va)) {
            unsigned char* t = tiles + FW_TILE_BYTES + s * FW_STAGE_BYTES;
            if (p.ka) sw128_affine<T>(t, 128, threadIdx.x, 256, p.ka + coef, p.kc + coef);
            if (p.va) sw128_affine<T>(t + FW_TILE_BYTES, 128, threadIdx.x, 256, p.va + coef, p.vc + coef);
            fence_proxy_async();
            named_bar_sync(FW_BAR_KV, 256);
        }

        // S = Q K^T: 64 queries x 128 keys, K = the head's 64 channels in 4 steps of 16 (+32 bytes).
        float sc[16][4];
        float (&sacc)[64] = reinterpret_cast<float (&)[64]>(sc);
#pragma unroll
        for (int j = 0; j < 64; j++) sacc[j] = 0.f;
        acc_fence(sacc);
        const uint64_t dk = sw128_desc(stage);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < FW_D / 16; kk++) wgmma_m64n128k16<T>(sacc, dq + 2 * kk, dk + 2 * kk);
        wgmma_commit();
        acc_fence(sacc);
        wgmma_wait<0>();
        acc_fence(sacc);

        float alpha[2];
        softmax_tile<16>(sc, p, p.seg[c.seg], c.tile * FW_BK, qrow, mrow, lrow, alpha);
#pragma unroll
        for (int j = 0; j < 8; j++) {
            o[j][0] *= alpha[0]; o[j][1] *= alpha[0];
            o[j][2] *= alpha[1]; o[j][3] *= alpha[1];
        }

        // O += P V: 8 steps of 16 keys; step kk's V rows start 16 * 128 bytes further (+128 in the address field).
        uint32_t pa[8][4];
#pragma unroll
        for (int kk = 0; kk < 8; kk++) p_fragment<T>(sc, kk, pa[kk]);
        const uint64_t dv = sw128_desc(stage + FW_TILE_BYTES);
        acc_fence(oacc);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < 8; kk++) wgmma_m64n64k16_rs_tn<T>(oacc, pa[kk], dv + kk * (16 * 128 >> 4));
        wgmma_commit();
        acc_fence(oacc);
        wgmma_wait<0>();
        acc_fence(oacc);

        __syncwarp();
        if (lane == 0) mbar_arrive(sm90_smem(&empty[s]));  // this warp's reads of the stage are done
    }
    attn_finish<T, 8>(p, b, h, qrow, mrow, lrow, o);
}

#define FLASH_WGMMA(T, S)                                                                                 \
    extern "C" __global__ void __launch_bounds__(WG_THREADS, 1)                                          \
        flash_wgmma_##S##_d64(const __grid_constant__ FwMaps maps, const AttnParams p) {                 \
        flash_wgmma_body<T>(maps, p);                                                                    \
    }

#else  // no wgmma/TMA on this target: the entry points exist so every fatbin lists the same names

#define FLASH_WGMMA(T, S)                                                                                 \
    extern "C" __global__ void __launch_bounds__(WG_THREADS, 1)                                          \
        flash_wgmma_##S##_d64(const __grid_constant__ FwMaps maps, const AttnParams p) {                 \
        __trap();                                                                                        \
    }

#endif

FLASH_WGMMA(f16, f16)
FLASH_WGMMA(bf16, bf16)
