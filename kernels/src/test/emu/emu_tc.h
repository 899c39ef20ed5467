// Host emulation of the sm_80 tensor-core building blocks of mma.cuh, written from the PTX ISA's
// definitions (not from the kernels): cp.async with commit/wait groups, ldmatrix .x2/.x4 (.trans)
// and mma.sync m16n8k16 row.col with F32 accumulators. Included by mma.cuh under D4J_HOST_EMU.
//
// cp.async: by default a copy lands in shared memory only when a cp.async.wait_group retires its
// group (the source is read at issue), so a kernel that reads a stage before waiting for it sees
// the poison instead of the data. D4J_EMU_CP_ASYNC=eager lands copies at issue instead, which is
// the order that exposes a stage being refilled while other warps still read it.
#pragma once

namespace emu {
inline bool cp_async_eager() {
    static int eager = [] { const char* e = std::getenv("D4J_EMU_CP_ASYNC"); return e && std::strcmp(e, "eager") == 0; }();
    return eager;
}
inline CpAsyncState& my_cp_async() { return cp_async_state[threadIdx.x]; }

// Fragment element (row, col) of 16-bit values: a register holds two, low half first.
inline uint16_t half_of(uint32_t r, int hi) { return hi ? uint16_t(r >> 16) : uint16_t(r & 0xffff); }
template <typename T> inline float widen16(uint16_t bits) { T v; std::memcpy(&v, &bits, 2); return to_f32(v); }

// ldmatrix: lanes 8i..8i+7 give the row addresses of matrix i; lane l receives, from matrix i,
// row l/4, elements 2(l%4) and 2(l%4)+1 (with .trans: column l/4, rows 2(l%4) and 2(l%4)+1).
template <int NMAT>
inline void ldmatrix(uint32_t* out, const void* p, bool trans) {
    Warp& w = my_warp();
    unsigned lane = lane_id();
    w.ptr[lane] = p;
    w.bar.arrive_and_wait();
    for (int m = 0; m < NMAT; m++) {
        auto elem = [&](int row, int col) {
            uint16_t v;
            std::memcpy(&v, static_cast<const unsigned char*>(w.ptr[8 * m + row]) + 2 * col, 2);
            return v;
        };
        int g = lane / 4, c = 2 * (lane % 4);
        uint16_t lo = trans ? elem(c, g) : elem(g, c);
        uint16_t hi = trans ? elem(c + 1, g) : elem(g, c + 1);
        out[m] = uint32_t(lo) | (uint32_t(hi) << 16);
    }
    w.bar.arrive_and_wait();
}

// mma.sync.m16n8k16.row.col: with g = lane/4 and t = lane%4,
//   A (16x16): a0 = A[g][2t..], a1 = A[g+8][2t..], a2 = A[g][2t+8..], a3 = A[g+8][2t+8..]
//   B (16x8):  b0 = B[2t..2t+1][g], b1 = B[2t+8..2t+9][g]
//   C (16x8):  c0,c1 = C[g][2t..2t+1], c2,c3 = C[g+8][2t..2t+1]
template <typename T>
inline void mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    Warp& w = my_warp();
    unsigned lane = lane_id();
    for (int i = 0; i < 4; i++) { w.r[lane][i] = a[i]; w.acc[lane][i] = d[i]; }
    w.r[lane][4] = b0; w.r[lane][5] = b1;
    w.bar.arrive_and_wait();
    if (w.computed != w.bar.generation) {  // first lane through: the whole 16x8 tile, into acc
        w.computed = w.bar.generation;
        float A[16][16], B[16][8];
        for (int l = 0; l < 32; l++) {
            int g = l / 4, t = l % 4;
            for (int h = 0; h < 2; h++) {
                A[g][2 * t + h] = widen16<T>(half_of(w.r[l][0], h));
                A[g + 8][2 * t + h] = widen16<T>(half_of(w.r[l][1], h));
                A[g][2 * t + 8 + h] = widen16<T>(half_of(w.r[l][2], h));
                A[g + 8][2 * t + 8 + h] = widen16<T>(half_of(w.r[l][3], h));
                B[2 * t + h][g] = widen16<T>(half_of(w.r[l][4], h));
                B[2 * t + 8 + h][g] = widen16<T>(half_of(w.r[l][5], h));
            }
        }
        for (int l = 0; l < 32; l++) {
            int g = l / 4, t = l % 4;
            for (int e = 0; e < 4; e++) {
                int row = g + (e >= 2 ? 8 : 0), col = 2 * t + (e & 1);
                double s = 0;  // products of 16-bit values are exact in F32; the sum is rounded once here
                for (int k = 0; k < 16; k++) s += (double)A[row][k] * B[k][col];
                w.acc[l][e] = (float)((double)w.acc[l][e] + s);
            }
        }
    }
    for (int e = 0; e < 4; e++) d[e] = w.acc[lane][e];
    w.bar.arrive_and_wait();
}
}  // namespace emu

__device__ __forceinline__ void cp_async16(void* dst, const void* src, const void*) {
    emu::PendingCopy c{dst, {}};
    if (src) std::memcpy(c.bytes, src, 16);
    if (emu::cp_async_eager()) { std::memcpy(dst, c.bytes, 16); return; }
    emu::my_cp_async().open.push_back(c);
}
__device__ __forceinline__ void cp_async_commit() {
    auto& s = emu::my_cp_async();
    s.groups.push_back(std::move(s.open));
    s.open.clear();
}
template <int N> __device__ __forceinline__ void cp_async_wait() {
    auto& s = emu::my_cp_async();
    while (s.groups.size() > (size_t)N) {
        for (auto& c : s.groups.front()) std::memcpy(c.dst, c.bytes, 16);
        s.groups.pop_front();
    }
}
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) { emu::ldmatrix<4>(r, p, false); }
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* p) { emu::ldmatrix<4>(r, p, true); }
__device__ __forceinline__ void ldmatrix_x2(uint32_t (&r)[2], const void* p) { emu::ldmatrix<2>(r, p, false); }
__device__ __forceinline__ void ldmatrix_x2_trans(uint32_t (&r)[2], const void* p) { emu::ldmatrix<2>(r, p, true); }
template <typename T> __device__ __forceinline__ void mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    emu::mma16816<T>(d, a, b0, b1);
}
