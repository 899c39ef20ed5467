// Host emulation of the sm_90a building blocks of sm90.cuh (its thin asm wrappers), written from the
// PTX ISA and the toolkit's cuda.h, not from the kernels: the shared-memory window, mbarriers,
// cp.async.bulk.tensor with the 128-byte swizzle, cp.async with cp.async.mbarrier.arrive.noinc,
// fence.proxy.async, and wgmma.mma_async with shared-memory matrix descriptors. Included by
// sm90.cuh under D4J_HOST_EMU in place of the asm.
//
// Timing model (the orders that expose pipeline bugs):
// - TMA copies read global memory at issue. By default they land in shared memory (and count
//   their bytes down on their mbarrier) as late as possible: when a thread waits on that mbarrier
//   and the phase cannot complete without them, or before another operation on that mbarrier. A
//   stage read before its `full` phase completed (or after a phase that completed early, on too few
//   expected bytes) holds the poison or the previous lap's data. D4J_EMU_TMA=eager (or
//   emu::sm90::tma_eager) lands them at issue instead: a stage is overwritten as early as possible.
// - cp.async copies handed to an mbarrier (arrive.noinc) land like TMA copies, one thread's at a
//   time and only until the phase completes: a barrier expecting too few arrivals completes with
//   rows still unwritten. Under D4J_EMU_TMA=eager or D4J_EMU_CP_ASYNC=eager they land at issue.
// - wgmma.mma_async reads its shared-memory operands at issue, at the first thread's
//   wgmma.wait_group that retires it and at the last one's; a difference (the stage was refilled
//   while the MMA was in flight) is reported as a failure. The accumulators change only at
//   retirement, as the PTX allows. emu's reverse schedule (D4J_EMU_SCHEDULE=reverse) runs the
//   producer warp between the consumers' steps, which is when such a refill happens.
#pragma once
#include <cuda.h>  // the stand-in of src/test/emu: CUtensorMap
#include <deque>
#include <map>
#include <memory>

#define __grid_constant__
#define SM90_DYNAMIC_SMEM(name) DYNAMIC_SMEM(unsigned char, name)

namespace emu::sm90 {

// ------------------------------------------------------------------------------ shared window
// Kernels name shared memory by 32-bit shared-window addresses (__cvta_generic_to_shared), and
// matrix descriptors keep only address bits 4-17 ("matrix-descriptor-encode(x) = (x & 0x3FFFF) >> 4").
// The emulated window lies below 2^18:
//   [0x1000, 0x5000)            static __shared__ objects, mapped by 4 KiB host page on first use
//   [0x5000 + dynamic_offset..)  the dynamic shared memory (0x5000 is 1024-byte aligned)
// Swizzles are computed on these window addresses, as the hardware computes them on real ones.
constexpr uint32_t STATIC_BASE = 0x1000, PAGE = 0x1000, STATIC_PAGES = 4, DYNAMIC_BASE = STATIC_BASE + STATIC_PAGES * PAGE;
inline uint32_t dynamic_offset = 0;  // tests may misalign the dynamic base (a multiple of 16, below 1024)
inline uintptr_t static_pages[STATIC_PAGES];  // the host page behind each window page, 0 = free

inline uint32_t dynamic_base() { return DYNAMIC_BASE + dynamic_offset; }

inline uint32_t to_shared(const void* p) {
    const uintptr_t h = reinterpret_cast<uintptr_t>(p), d = reinterpret_cast<uintptr_t>(dynamic_smem);
    if (d && h >= d && h < d + dynamic_smem_bytes) return dynamic_base() + uint32_t(h - d);
    const uintptr_t page = h & ~uintptr_t(PAGE - 1);
    for (uint32_t i = 0; i < STATIC_PAGES; i++)
        if (static_pages[i] == page) return STATIC_BASE + i * PAGE + uint32_t(h - page);
    // A new page: next to its host neighbour's window page when free, so nearby objects keep their distances.
    int slot = -1;
    for (uint32_t i = 0; i < STATIC_PAGES && slot < 0; i++) {
        if (static_pages[i] == page - PAGE && i + 1 < STATIC_PAGES && !static_pages[i + 1]) slot = int(i + 1);
        if (static_pages[i] == page + PAGE && i > 0 && !static_pages[i - 1]) slot = int(i - 1);
    }
    for (uint32_t i = 0; i < STATIC_PAGES && slot < 0; i++)
        if (!static_pages[i]) slot = int(i);
    if (slot < 0) trap("emu_sm90: static __shared__ objects span more pages than the emulated shared window holds");
    static_pages[slot] = page;
    return STATIC_BASE + uint32_t(slot) * PAGE + uint32_t(h - page);
}

// The host bytes behind `bytes` bytes at shared address `a`; a failure outside the window.
inline unsigned char* host(uint32_t a, uint32_t bytes) {
    if (a >= dynamic_base() && uint64_t(a) + bytes <= uint64_t(dynamic_base()) + dynamic_smem_bytes) return dynamic_smem + (a - dynamic_base());
    if (a >= STATIC_BASE && a < DYNAMIC_BASE) {
        uint32_t i = (a - STATIC_BASE) / PAGE, off = (a - STATIC_BASE) % PAGE;
        if (static_pages[i] && off + bytes <= PAGE) return reinterpret_cast<unsigned char*>(static_pages[i] + off);
    }
    static char msg[160];
    snprintf(msg, sizeof msg, "emu_sm90: shared address 0x%x (%u bytes) is outside the shared memory of the block", a, bytes);
    trap(msg);
}

// 128-byte swizzle: the 16-byte chunk index within each 128-byte row (address bits 4-6) is XORed
// with the row index within the 1024-byte pattern (bits 7-9). cuda.h: "Swizzle 16B chunks within
// 128B span"; PTX: the pattern repeats on 1024-byte boundaries (matrix descriptor base offset 0).
inline uint32_t swizzle128(uint32_t a) { return a ^ (((a >> 7) & 7u) << 4); }

// ------------------------------------------------------------------------------ mbarrier
// State of the 64-bit object (PTX "mbarrier"): current phase parity, pending arrivals of the phase,
// expected arrival count (init), tx-count. A phase completes when the pending arrivals and the
// tx-count are both zero; then the parity flips and the pending count is reloaded. Kept in the
// object's own 8 bytes: bits 0-20 pending, 21-41 expected, 42-62 tx-count (two's complement), 63 parity.
struct Mbar {
    uint32_t pending, expected, phase;
    int32_t tx;
};
constexpr int32_t TX_LIMIT = (1 << 20) - 1;  // PTX: tx-count range [-(2^20 - 1), 2^20 - 1]
inline uint64_t* mbar_word(uint32_t a) {
    if (a % 8) trap("emu_sm90: mbarrier object not 8-byte aligned");
    return reinterpret_cast<uint64_t*>(host(a, 8));
}
inline Mbar mbar_load(uint32_t a) {
    uint64_t w = *mbar_word(a);
    int32_t tx = int32_t((w >> 42) & 0x1FFFFF);
    if (tx & 0x100000) tx -= 0x200000;
    return Mbar{uint32_t(w & 0x1FFFFF), uint32_t((w >> 21) & 0x1FFFFF), uint32_t(w >> 63), tx};
}
inline void mbar_store(uint32_t a, Mbar m) {
    if (m.tx > TX_LIMIT || m.tx < -TX_LIMIT) trap("emu_sm90: mbarrier tx-count out of range");
    if (m.pending == 0 && m.tx == 0) {  // phase complete
        m.phase ^= 1;
        m.pending = m.expected;
    }
    *mbar_word(a) = uint64_t(m.pending) | (uint64_t(m.expected) << 21) | (uint64_t(uint32_t(m.tx) & 0x1FFFFF) << 42) | (uint64_t(m.phase) << 63);
    progress++;
}
inline void land_copies_of(uint32_t bar, bool until_phase_flips = false);
inline void mbar_arrive_raw(uint32_t a) {
    Mbar m = mbar_load(a);
    if (m.expected == 0) trap("emu_sm90: arrive on an mbarrier that was never initialised");
    if (m.pending == 0) trap("emu_sm90: more arrivals than the mbarrier phase expects");
    m.pending--;
    mbar_store(a, m);
}
inline void mbar_arrive_on(uint32_t a) {
    land_copies_of(a);  // copies in flight complete before another operation on their barrier (the benign order)
    mbar_arrive_raw(a);
}
inline void mbar_tx(uint32_t a, int32_t bytes) {
    Mbar m = mbar_load(a);  // expect_tx (bytes > 0) or, from land(), complete_tx (bytes < 0)
    if (m.expected == 0) trap("emu_sm90: transaction on an mbarrier that was never initialised");
    m.tx += bytes;
    mbar_store(a, m);
}

// ------------------------------------------------------------------------------ TMA
inline bool tma_eager = [] { const char* e = std::getenv("D4J_EMU_TMA"); return e && std::strcmp(e, "eager") == 0; }();
struct Copy {
    uint32_t dst, bar;
    std::vector<unsigned char> box;  // the box in shared-memory order before the swizzle
};
inline std::deque<Copy> copies_in_flight;

// ------------------------------------------------------------------------------ proxies
// Shared memory written through the generic proxy (cp.async here) is seen by wgmma, which reads
// through the async proxy, only after the reading thread's fence.proxy.async (PTX memory
// consistency model, "proxies"). Each 16-byte chunk of the window keeps the sequence number of its
// last generic write (0: last written by TMA, the async proxy, or never); each thread keeps that of
// its last fence. wgmma.mma_async traps on an operand chunk written after the issuing thread's fence.
inline uint64_t proxy_clock = 0;
inline std::vector<uint64_t> generic_written;  // per 16-byte chunk of the window
inline std::vector<uint64_t> proxy_fenced;     // per thread
inline void mark_written(uint32_t a, bool generic) {
    if (generic_written.size() < (1u << 18) / 16) generic_written.assign((1u << 18) / 16, 0);
    generic_written[a / 16] = generic ? ++proxy_clock : 0;
}
inline void require_fenced(uint32_t a) {
    const uint64_t w = generic_written.empty() ? 0 : generic_written[a / 16];
    if (w && w > proxy_fenced[threadIdx.x])
        trap("emu_sm90: wgmma.mma_async reads shared memory written by cp.async (the generic proxy) without a fence.proxy.async after it");
}

// cp.async into a stage: each thread's copies since its last cp.async.mbarrier.arrive.noinc, read at
// issue; the arrive hands them to the barrier, and they land (then arrive) like TMA copies: when
// their barrier is waited on and its phase cannot complete without them, or at issue and arrive
// under D4J_EMU_TMA=eager / D4J_EMU_CP_ASYNC=eager.
struct Chunk {
    uint32_t dst;
    unsigned char bytes[16];
};
struct Gather {
    uint32_t bar;
    std::vector<Chunk> chunks;
};
inline std::vector<std::vector<Chunk>> cp_open;  // per thread
inline std::deque<Gather> gathers_in_flight;
inline bool gather_eager() { return tma_eager || cp_async_eager(); }
inline void land_chunk(const Chunk& c) {
    std::memcpy(host(c.dst, 16), c.bytes, 16);
    mark_written(c.dst, true);
}

inline void land(const Copy& c) {
    for (uint32_t o = 0; o < c.box.size(); o += 16) {
        std::memcpy(host(swizzle128(c.dst + o), 16), c.box.data() + o, 16);
        mark_written(swizzle128(c.dst + o), false);
    }
    mbar_tx(c.bar, -int32_t(c.box.size()));  // complete_tx: the bytes of the whole box, zero-filled ones included
}
// Lands the copies in flight that complete on `bar` (oldest first), TMA boxes and cp.async gathers;
// with `until_phase_flips`, gathers only until the barrier's phase completes (a phase that
// completes on too few arrivals leaves the rest in flight, and their rows unwritten).
inline void land_copies_of(uint32_t bar, bool until_phase_flips) {
    for (auto it = copies_in_flight.begin(); it != copies_in_flight.end();) {
        if (it->bar == bar) { Copy c = std::move(*it); it = copies_in_flight.erase(it); land(c); }
        else ++it;
    }
    const uint32_t phase = mbar_load(bar).phase;
    for (auto it = gathers_in_flight.begin(); it != gathers_in_flight.end();) {
        if (until_phase_flips && mbar_load(bar).phase != phase) return;
        if (it->bar != bar) { ++it; continue; }
        Gather g = std::move(*it);
        it = gathers_in_flight.erase(it);
        for (const Chunk& c : g.chunks) land_chunk(c);
        mbar_arrive_raw(bar);
    }
}

inline void cp_async16(uint32_t dst, const void* src, uint32_t bytes) {
    if (dst % 16) trap("emu_sm90: cp.async destination not 16-byte aligned");
    if (bytes != 0 && bytes != 16) trap("emu_sm90: cp.async src-size other than 0 or 16");
    if (bytes && !src) trap("emu_sm90: cp.async from a null address");
    Chunk c{dst, {}};
    if (bytes) std::memcpy(c.bytes, src, 16);
    host(dst, 16);  // inside the block's shared memory
    progress++;
    if (gather_eager()) land_chunk(c);
    else cp_open[threadIdx.x].push_back(c);
}
inline void cp_async_arrive_noinc(uint32_t bar) {
    Gather g{bar, std::move(cp_open[threadIdx.x])};
    cp_open[threadIdx.x].clear();
    mbar_load(bar);  // an initialised barrier in the window
    progress++;
    if (gather_eager()) {
        for (const Chunk& c : g.chunks) land_chunk(c);
        land_copies_of(bar);
        mbar_arrive_raw(bar);
    } else {
        gathers_in_flight.push_back(std::move(g));
    }
}

// cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes: the box at
// coordinates {c0, c1, c2} (dimension 0 innermost) is written densely, box row after box row, at
// dst, 128-byte swizzled; elements outside the tensor read as zero (OOB fill NONE).
inline void tma_load(uint32_t dst, const CUtensorMap* map, const int (&c)[3], uint32_t bar) {
    if (!map || map->rank != 3) trap("emu_sm90: cp.async.bulk.tensor.3d with a tensor map that is not of rank 3");
    if (map->swizzle != CU_TENSOR_MAP_SWIZZLE_128B || map->box[0] * map->elemBytes != 128)
        trap("emu_sm90: only tensor maps with the 128-byte swizzle and 128-byte box rows are emulated");
    if (map->oobFill != CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) trap("emu_sm90: only zero out-of-bounds fill is emulated");
    if (dst % 128) trap("emu_sm90: cp.async.bulk.tensor destination not 128-byte aligned");
    const uint32_t es = map->elemBytes, b0 = map->box[0], b1 = map->box[1], b2 = map->box[2];
    Copy cp{dst, bar, std::vector<unsigned char>(size_t(b0) * b1 * b2 * es, 0)};
    for (uint32_t i2 = 0; i2 < b2; i2++) for (uint32_t i1 = 0; i1 < b1; i1++) for (uint32_t i0 = 0; i0 < b0; i0++) {
        const int64_t x0 = int64_t(c[0]) + i0, x1 = int64_t(c[1]) + i1, x2 = int64_t(c[2]) + i2;
        if (x0 < 0 || x1 < 0 || x2 < 0 || uint64_t(x0) >= map->dim[0] || uint64_t(x1) >= map->dim[1] || uint64_t(x2) >= map->dim[2]) continue;
        std::memcpy(cp.box.data() + ((size_t(i2) * b1 + i1) * b0 + i0) * es,
                    map->global + x0 * map->stride[0] + x1 * map->stride[1] + x2 * map->stride[2], es);
    }
    host(dst, uint32_t(cp.box.size()));  // the whole destination lies in shared memory
    progress++;
    if (tma_eager) land(cp);
    else copies_in_flight.push_back(std::move(cp));
}

// ------------------------------------------------------------------------------ wgmma
// Shared-memory matrix descriptor (PTX "Matrix Descriptor Format"): bits 0-13 start address >> 4,
// 16-29 leading dimension byte offset >> 4, 32-45 stride dimension byte offset >> 4, 49-51 base
// offset, 62-63 swizzle mode (1 = 128-byte). With the 128-byte swizzle (T = 8 elements of 16 bits):
// - K-major (canonical layout ((8,m),(T,2k)):((8T,SBO),(1,T))): element (row, k) is at
//   start + (row / 8) * SBO + (row % 8) * 128 + 2k; the LBO is unused.
// - MN-major, trans = 1 (((T,8,m),(8,k)):((1,T,LBO),(8T,SBO))): element (n, k) is at
//   start + (k / 8) * SBO + (k % 8) * 128 + (n / 64) * LBO + 2 (n % 64): each k is one 128-byte row
//   of 64 consecutive n, SBO steps 8 k-rows, LBO the next 64 n.
// The swizzle then applies to that address.
struct Desc {
    uint32_t start, lbo, sbo;
};
// PTX: the base offset is 0 when the swizzle pattern starts on a 1024-byte boundary, else
// (pattern start >> 7) & 7. The emulator takes the pattern to start at the 128-byte row of the
// start address and applies the swizzle on address bits, so it requires a start address in the
// first row of a 1024-byte atom (+ 16-byte steps along K) with base offset 0.
inline Desc decode(uint64_t d) {
    if ((d >> 62) != 1) trap("emu_sm90: only 128-byte swizzled wgmma operands are emulated");
    if (((d >> 49) & 7) != 0) trap("emu_sm90: a non-zero matrix base offset is not emulated");
    Desc r{uint32_t(d & 0x3FFF) << 4, uint32_t((d >> 16) & 0x3FFF) << 4, uint32_t((d >> 32) & 0x3FFF) << 4};
    if ((r.start >> 7) & 7) trap("emu_sm90: wgmma operand does not start on a 1024-byte swizzle atom but its base offset is 0");
    return r;
}
inline uint32_t element_address(const Desc& d, bool mnMajor, int row, int k) {
    return swizzle128(mnMajor ? d.start + uint32_t(k / 8) * d.sbo + uint32_t(k % 8) * 128 + uint32_t(row / 64) * d.lbo + 2 * uint32_t(row % 64)
                              : d.start + uint32_t(row / 8) * d.sbo + uint32_t(row % 8) * 128 + 2 * uint32_t(k));
}
inline uint16_t element(const Desc& d, bool mnMajor, int row, int k) {
    uint16_t v;
    std::memcpy(&v, host(element_address(d, mnMajor, row, k), 2), 2);
    return v;
}

// One wgmma.mma_async.m64nNk16 of a warpgroup (N = 64 or 128), shared by its 128 threads. A comes
// from shared memory (K-major) or, with aRegs, from the threads' registers; B from shared memory,
// K-major or (transB) N-major.
struct Op {
    uint64_t da, db;
    bool bf16, aRegs, transB;
    int n;
    size_t seq;
    int issued = 0, retired = 0;
    bool computed = false;
    uint16_t a[64][16], b[128][16];  // operands as read at issue (b[n][k])
    double p[64][128];               // A B^T, computed once, at the first retirement
};
struct Issued {
    std::shared_ptr<Op> op;
    float* d;
};
struct ThreadState {
    bool fenced = false;
    size_t next = 0;                        // sequence number of this thread's next mma_async
    std::vector<Issued> open;               // issued, not yet committed
    std::deque<std::vector<Issued>> groups;  // committed wgmma-groups, oldest first
};
inline std::vector<ThreadState> threads;
inline std::vector<std::vector<std::shared_ptr<Op>>> warpgroups;  // ops of each warpgroup in issue order

// Every 16-byte chunk of the op's shared-memory operands must be visible to the async proxy of this thread.
inline void require_operands_fenced(const Op& op) {
    const Desc B = decode(op.db);
    // One element per 16-byte chunk: 8 consecutive k of a row (K-major) or 8 consecutive n of a k (N-major).
    for (int r = 0; r < op.n; r += op.transB ? 8 : 1) for (int k = 0; k < 16; k += op.transB ? 1 : 8)
        require_fenced(element_address(B, op.transB, r, k));
    if (op.aRegs) return;
    const Desc A = decode(op.da);
    for (int r = 0; r < 64; r++) for (int k = 0; k < 16; k += 8) require_fenced(element_address(A, false, r, k));
}

inline void gather(const Op& op, uint16_t (&a)[64][16], uint16_t (&b)[128][16]) {
    const Desc B = decode(op.db);
    for (int r = 0; r < op.n; r++) for (int k = 0; k < 16; k++) b[r][k] = element(B, op.transB, r, k);
    if (op.aRegs) return;
    const Desc A = decode(op.da);
    for (int r = 0; r < 64; r++) for (int k = 0; k < 16; k++) a[r][k] = element(A, false, r, k);
}

// A-operand fragment of m64nNk16 in registers (PTX figure "WGMMA .m64nNk16 register fragment layout
// for matrix A"): warp w holds rows 16w..16w+15; lane l (g = l / 4, t = l % 4) holds in register i
// the pair of columns 2t + 8 (i / 2), +1 of row g + 8 (i % 2), low half first.
inline void take_registers(Op& op, const uint32_t (&regs)[4]) {
    const unsigned w = (threadIdx.x % 128) / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; i++) for (int v = 0; v < 2; v++)
        op.a[16 * w + g + 8 * (i % 2)][2 * t + 8 * (i / 2) + v] = uint16_t(regs[i] >> (16 * v));
}

template <typename T>
inline void mma_async(float* d, int n, uint64_t da, const uint32_t (*aRegs)[4], uint64_t db, bool transB) {
    const unsigned wg = threadIdx.x / 128;
    if ((wg + 1) * 128 > blockDim.x) trap("emu_sm90: wgmma.mma_async outside a complete warpgroup of 128 threads");
    ThreadState& ts = threads[threadIdx.x];
    // PTX: wgmma.fence must precede the first wgmma.mma_async of the warpgroup.
    if (!ts.fenced) trap("emu_sm90: wgmma.mma_async without a preceding wgmma.fence");
    auto& ops = warpgroups[wg];
    const bool bf = std::is_same_v<T, bf16>;
    if (ts.next == ops.size()) {
        auto op = std::make_shared<Op>();
        op->da = aRegs ? 0 : da, op->db = db, op->bf16 = bf, op->aRegs = aRegs != nullptr, op->transB = transB, op->n = n;
        op->seq = ops.size();
        gather(*op, op->a, op->b);
        ops.push_back(op);
    }
    std::shared_ptr<Op> op = ops[ts.next++];
    require_operands_fenced(*op);
    // .aligned: every thread of the warpgroup executes the same instruction with the same operands.
    if (op->da != (aRegs ? 0 : da) || op->db != db || op->bf16 != bf || op->aRegs != (aRegs != nullptr) || op->transB != transB || op->n != n)
        trap("emu_sm90: threads of a warpgroup issued different wgmma.mma_async operands");
    if (aRegs) take_registers(*op, *aRegs);  // read at issue: the thread may not change them before the op retires
    op->issued++;
    progress++;
    ts.open.push_back(Issued{op, d});
}

template <typename T> inline float widen(uint16_t bits) { return widen16<T>(bits); }

// The shared-memory operands must read the same from issue to the last thread's retirement (the
// end of the warpgroup's MMA): a stage refilled while the MMA was in flight is a failure.
inline void check_unchanged(const Op& op) {
    uint16_t a[64][16], b[128][16];
    gather(op, a, b);
    if ((!op.aRegs && std::memcmp(a, op.a, sizeof a)) || std::memcmp(b, op.b, sizeof(b[0]) * op.n))
        trap("emu_sm90: a wgmma.mma_async operand in shared memory changed while the MMA was in flight");
}
inline void compute(Op& op) {
    check_unchanged(op);
    const auto& a = op.a;
    const auto& b = op.b;
    float A[64][16], B[128][16];
    for (int r = 0; r < 64; r++) for (int k = 0; k < 16; k++) A[r][k] = op.bf16 ? widen<bf16>(a[r][k]) : widen<f16>(a[r][k]);
    for (int r = 0; r < op.n; r++) for (int k = 0; k < 16; k++) B[r][k] = op.bf16 ? widen<bf16>(b[r][k]) : widen<f16>(b[r][k]);
    for (int m = 0; m < 64; m++) for (int n = 0; n < op.n; n++) {
        double s = 0;  // products of 16-bit values are exact; the sum is rounded once, when added to D
        for (int k = 0; k < 16; k++) s += double(A[m][k]) * B[n][k];
        op.p[m][n] = s;
    }
    op.computed = true;
}

// Accumulator fragment of m64nNk16 with F32 D (PTX figure "WGMMA .m64nNk16 register fragment layout
// for accumulator matrix D"): warp w of the warpgroup holds rows 16w..16w+15; lane l (g = l / 4,
// t = l % 4) holds, for each 8-column block j, d[4j + v] = D[16w + g][8j + 2t + v] and
// d[4j + 2 + v] = D[16w + g + 8][8j + 2t + v], v = 0, 1.
inline void retire(const Issued& is) {
    Op& op = *is.op;
    while (op.issued < 128) yield();  // the warpgroup's MMA starts once all its threads issued it
    if (!op.computed) compute(op);
    const unsigned w = (threadIdx.x % 128) / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    for (int j = 0; j < op.n / 8; j++) for (int h = 0; h < 2; h++) for (int v = 0; v < 2; v++) {
        float& x = is.d[4 * j + 2 * h + v];
        x = float(double(x) + op.p[16 * w + g + 8 * h][8 * j + 2 * t + v]);
    }
    if (++op.retired == 128) {
        check_unchanged(op);
        warpgroups[threadIdx.x / 128][op.seq].reset();  // every thread has it: free the operands
    }
    progress++;
}

// Named barriers (bar.sync id, count): `count` threads of the block, per id.
inline std::map<uint32_t, Barrier> named_barriers;
inline void named_barrier(uint32_t id, uint32_t count) {
    if (id == 0 || id > 15) trap("emu_sm90: named barrier id outside 1..15 (0 is __syncthreads)");
    if (count == 0 || count % 32 || count > blockDim.x) trap("emu_sm90: bar.sync thread count not a multiple of 32 within the block");
    Barrier& b = named_barriers[id];
    if (b.arrived == 0) b.expected = int(count);
    else if (b.expected != int(count)) trap("emu_sm90: threads of one named barrier gave different counts");
    b.arrive_and_wait();
}

inline void reset_block() {
    threads.assign(blockDim.x, ThreadState{});
    warpgroups.assign((blockDim.x + 127) / 128, {});
    copies_in_flight.clear();
    gathers_in_flight.clear();
    cp_open.assign(blockDim.x, {});
    proxy_fenced.assign(blockDim.x, 0);
    generic_written.clear();
    named_barriers.clear();
}
inline const bool registered = (block_start_hooks.push_back(&reset_block), true);
}  // namespace emu::sm90

inline size_t __cvta_generic_to_shared(const void* p) { return emu::sm90::to_shared(p); }
inline long long clock64() {  // a counter: the kernel's ~2^34-cycle watchdog never fires here (emu reports deadlocks)
    static long long t;
    return ++t;
}

// ------------------------------------------------------------------------------ the wrappers
__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count) {
    // PTX mbarrier.init: count in [1, 2^20 - 1]; phase 0, pending = expected = count, tx-count 0.
    if (count < 1 || count > (1u << 20) - 1) emu::trap("emu_sm90: mbarrier.init count out of range");
    emu::sm90::land_copies_of(bar);
    *emu::sm90::mbar_word(bar) = uint64_t(count) | (uint64_t(count) << 21);
    emu::progress++;
}
__device__ __forceinline__ void mbar_init_fence() {}
__device__ __forceinline__ void mbar_arrive(uint32_t bar) { emu::sm90::mbar_arrive_on(bar); }
// PTX: arrive.expect_tx performs the expect-tx operation (tx-count += bytes) before the arrive-on.
__device__ __forceinline__ void mbar_arrive_expect_tx(uint32_t bar, uint32_t bytes) {
    emu::sm90::land_copies_of(bar);
    emu::sm90::mbar_tx(bar, int32_t(bytes));
    emu::sm90::mbar_arrive_on(bar);
}
// PTX try_wait.parity: true when the phase of the given parity has completed, i.e. the current
// phase has the other parity. A potentially blocking instruction: a thread whose phase is not
// complete is suspended (here: yields to the others) before it gets false.
// Copies in flight land only when the phase cannot complete without them: a phase that completed
// early (too few expected bytes) is seen before its data.
__device__ __forceinline__ bool mbar_try_wait(uint32_t bar, uint32_t parity) {
    if (emu::sm90::mbar_load(bar).phase != (parity & 1)) return true;
    emu::sm90::land_copies_of(bar, true);
    if (emu::sm90::mbar_load(bar).phase != (parity & 1)) return true;
    emu::yield();
    return false;
}

__device__ __forceinline__ void tma_load_3d(uint32_t dst, const CUtensorMap* map, int c0, int c1, int c2, uint32_t bar) {
    emu::sm90::tma_load(dst, map, {c0, c1, c2}, bar);
}
__device__ __forceinline__ void tma_prefetch_map(const CUtensorMap* map) {
    if (!map) emu::trap("emu_sm90: prefetch.tensormap of a null map");
}
__device__ __forceinline__ void cp_async16_shared(uint32_t dst, const void* src, uint32_t bytes) { emu::sm90::cp_async16(dst, src, bytes); }
__device__ __forceinline__ void cp_async_arrive_noinc(uint32_t bar) { emu::sm90::cp_async_arrive_noinc(bar); }
__device__ __forceinline__ void fence_proxy_async() { emu::sm90::proxy_fenced[threadIdx.x] = ++emu::sm90::proxy_clock; }

__device__ __forceinline__ void wgmma_fence() { emu::sm90::threads[threadIdx.x].fenced = true; }
__device__ __forceinline__ void wgmma_commit() {
    auto& ts = emu::sm90::threads[threadIdx.x];
    ts.groups.push_back(std::move(ts.open));
    ts.open.clear();
}
// PTX wait_group N: waits until at most N of the thread's most recent wgmma-groups are pending.
template <int N> __device__ __forceinline__ void wgmma_wait() {
    auto& ts = emu::sm90::threads[threadIdx.x];
    while (ts.groups.size() > size_t(N)) {
        for (const auto& is : ts.groups.front()) emu::sm90::retire(is);
        ts.groups.pop_front();
    }
}
template <int N> __device__ __forceinline__ void acc_fence(float (&)[N]) {}
template <typename T> __device__ __forceinline__ void wgmma_m64n128k16(float (&d)[64], uint64_t da, uint64_t db) {
    emu::sm90::mma_async<T>(d, 128, da, nullptr, db, false);
}
template <typename T> __device__ __forceinline__ void wgmma_m64n64k16_rs_tn(float (&d)[32], const uint32_t (&a)[4], uint64_t db) {
    emu::sm90::mma_async<T>(d, 64, 0, &a, db, true);
}
__device__ __forceinline__ void named_bar_sync(uint32_t id, uint32_t count) { emu::sm90::named_barrier(id, count); }
