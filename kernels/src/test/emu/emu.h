// Host emulation of the CUDA features the kernels use, so their source runs on a CPU (tests under
// src/test/emu, and libd4jemu.so, which the Java backend drives when -Dd4j.cuda.emulator is set).
//
// A block runs at a time; each CUDA thread is a fiber on one OS thread, scheduled
// round-robin and switched only at barriers, so runs are deterministic. __syncthreads is a block
// barrier, warp shuffles and the tensor-core instructions (emu_tc.h) are warp collectives: each
// lane deposits its operands, the warp meets at a barrier, each lane computes its own result from
// all deposits. A thread that returns stops counting towards barriers (as on hardware). A round in
// which no fiber can move is reported as a deadlock instead of hanging.
//
// Says nothing about timing or the memory model beyond barriers; see emu_tc.h for cp.async.
#pragma once
#include <cmath>
#include <math.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>
#include <algorithm>
#include <deque>
#include <ucontext.h>
#include <sys/mman.h>
using std::min; using std::max;

#define D4J_HOST_EMU 1
struct dim3 { unsigned x = 1, y = 1, z = 1; };
struct alignas(16) uint4 { unsigned x, y, z, w; };
struct alignas(8) uint2 { unsigned x, y; };
struct alignas(8) float2 { float x, y; };
inline float2 make_float2(float x, float y) { return {x, y}; }
inline dim3 threadIdx, blockIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __maxnreg__(n)
#define __restrict__
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))  // GNU form: valid among the decl-specifiers, as in CUDA
#define DYNAMIC_SMEM(T, name) T* name = reinterpret_cast<T*>(emu::dynamic_smem)

inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }

namespace emu {
inline unsigned char* dynamic_smem;  // 1024-byte aligned (the largest alignment a kernel asks of it: 128B swizzle atoms)
inline size_t dynamic_smem_bytes;
// Called at the start of every block, after the block's own state is reset (emu_sm90.h resets its
// mbarrier, TMA and wgmma bookkeeping here).
inline std::vector<void (*)()> block_start_hooks;
inline std::string failure;  // set when a block cannot finish (deadlock, trap)

// Context switch between fibers. On x86-64 a few instructions that save the callee-saved registers
// (ucontext's swapcontext also saves the signal mask, a system call per switch); elsewhere ucontext.
#if defined(__x86_64__)
extern "C" void d4j_emu_switch(void** save_sp, void* load_sp);
asm(R"(
    .text
    .weak d4j_emu_switch
    .type d4j_emu_switch,@function
d4j_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size d4j_emu_switch,.-d4j_emu_switch
)");
struct Context {
    void* sp = nullptr;
    void start(void* stack, size_t size, void (*entry)()) {  // entry runs on the first switch_to
        auto* top = reinterpret_cast<void**>((reinterpret_cast<uintptr_t>(stack) + size) & ~uintptr_t(15));
        top[-1] = nullptr;                             // entry's return address: entry never returns
        top[-2] = reinterpret_cast<void*>(entry);      // popped by ret
        for (int i = 3; i <= 8; i++) top[-i] = nullptr;  // rbp rbx r12-r15
        sp = top - 8;
    }
};
inline void switch_to(Context& from, Context& to) { d4j_emu_switch(&from.sp, to.sp); }
#else
struct Context {
    ucontext_t uc;
    void start(void* stack, size_t size, void (*entry)()) {
        getcontext(&uc);
        uc.uc_stack.ss_sp = stack;
        uc.uc_stack.ss_size = size;
        uc.uc_link = nullptr;
        makecontext(&uc, entry, 0);
    }
};
inline void switch_to(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
#endif

struct Fiber {
    Context ctx;
    void* stack = nullptr;
    bool done = false;
};
constexpr size_t STACK = 512 * 1024;
inline Context scheduler;
inline std::vector<Fiber> fibers;
inline Fiber* running;
inline unsigned long long progress;  // bumped by every barrier arrival and thread exit
// Round-robin order: thread 0 first (default) or last (D4J_EMU_SCHEDULE=reverse, or set by a test),
// which lets the highest threads (e.g. a producer warp) act between the others' steps.
inline bool schedule_reverse = [] { const char* e = std::getenv("D4J_EMU_SCHEDULE"); return e && std::strcmp(e, "reverse") == 0; }();

// Cooperative barrier over `expected` live threads; exits lower `expected` (see Block::exit).
struct Barrier {
    int expected = 0, arrived = 0;
    unsigned generation = 0;
    void arrive_and_wait();
    void lower() { expected--; if (arrived > 0 && arrived >= expected) release(); }
    void release() { arrived = 0; generation++; }
};
inline void yield() {
    switch_to(running->ctx, scheduler);
}
inline void Barrier::arrive_and_wait() {
    progress++;
    unsigned g = generation;
    if (++arrived >= expected) { release(); return; }
    while (generation == g) yield();
}

// Per-warp exchange area of the warp collectives (shuffles, ldmatrix, mma). A collective's result
// that is the same for the whole warp is computed by the first lane past the barrier (`computed`
// holds the barrier generation it was computed in).
struct Warp {
    Barrier bar;
    float f[32];
    const void* ptr[32];
    uint32_t r[32][6];
    float acc[32][4];
    unsigned computed = ~0u;
};
// Per-thread cp.async bookkeeping (emu_tc.h), reset for each block.
struct PendingCopy { void* dst; unsigned char bytes[16]; };
struct CpAsyncState {
    std::vector<PendingCopy> open;               // issued, not yet committed
    std::deque<std::vector<PendingCopy>> groups;  // committed, oldest first
};
inline std::vector<CpAsyncState> cp_async_state;

inline Barrier block_bar;
inline std::vector<Warp> warps;
inline Warp& my_warp() { return warps[threadIdx.x / 32]; }
inline unsigned lane_id() { return threadIdx.x % 32; }

inline std::function<void()>* body;
inline void trampoline() {
    Fiber* f = running;
    (*body)();
    f->done = true;
    progress++;
    block_bar.lower();
    my_warp().bar.lower();
    switch_to(f->ctx, scheduler);  // never resumed
}

// Runs `kernel` for every thread of every block of the grid; false (and `failure`) on deadlock.
inline bool run_grid(dim3 grid, unsigned threads, size_t smem, const std::function<void()>& kernel) {
    gridDim = grid;
    blockDim = dim3{threads, 1, 1};
    static std::vector<unsigned char> smem_buf;
    smem_buf.assign(smem + 1024, 0);
    dynamic_smem = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(smem_buf.data()) + 1023) & ~uintptr_t(1023));
    dynamic_smem_bytes = smem;
    if (fibers.size() < threads) {
        size_t old = fibers.size();
        fibers.resize(threads);
        for (size_t i = old; i < threads; i++) {
            fibers[i].stack = mmap(nullptr, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (fibers[i].stack == MAP_FAILED) { failure = "cannot map fiber stacks"; return false; }
        }
    }
    std::function<void()> k = kernel;
    body = &k;
    unsigned nwarps = (threads + 31) / 32;
    for (unsigned z = 0; z < grid.z; z++) for (unsigned y = 0; y < grid.y; y++) for (unsigned x = 0; x < grid.x; x++) {
        std::memset(dynamic_smem, 0xff, smem);  // poison: NaN as F32/F16/BF16
        block_bar = Barrier{(int)threads, 0, 0};
        warps.assign(nwarps, Warp{});
        cp_async_state.assign(threads, CpAsyncState{});
        for (unsigned w = 0; w < nwarps; w++) warps[w].bar.expected = (int)std::min(32u, threads - 32 * w);
        blockIdx = dim3{x, y, z};
        for (auto hook : block_start_hooks) hook();
        for (unsigned t = 0; t < threads; t++) {
            Fiber& f = fibers[t];
            f.done = false;
            f.ctx.start(f.stack, STACK, trampoline);
        }
        unsigned live = threads;
        while (live > 0) {
            unsigned long long before = progress;
            live = 0;
            for (unsigned i = 0; i < threads; i++) {
                const unsigned t = schedule_reverse ? threads - 1 - i : i;
                Fiber& f = fibers[t];
                if (f.done) continue;
                running = &f;
                threadIdx = dim3{t, 0, 0};
                switch_to(scheduler, f.ctx);
                if (!failure.empty()) return false;
                if (!f.done) live++;
            }
            if (live > 0 && progress == before) {
                failure = "deadlock in block (" + std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(z) + "): " +
                          std::to_string(live) + " threads wait at a barrier the others never reach";
                return false;
            }
        }
    }
    return true;
}

// A failure inside a kernel (trap): recorded, then the fiber parks forever; the grid stops.
[[noreturn]] inline void trap(const char* why) {
    failure = why;
    for (;;) yield();
}
}  // namespace emu

inline void __syncthreads() { emu::block_bar.arrive_and_wait(); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu::my_warp().bar.arrive_and_wait(); }
inline void __trap() { emu::trap("the kernel executed __trap()"); }
inline float __shfl_xor_sync(unsigned, float v, int o) {
    emu::Warp& w = emu::my_warp();
    unsigned lane = emu::lane_id();
    w.f[lane] = v;
    w.bar.arrive_and_wait();
    float r = w.f[lane ^ o];
    w.bar.arrive_and_wait();
    return r;
}

// Test helper: runs a grid without dynamic shared memory; aborts the test program on deadlock.
template <class F> void launch(dim3 grid, int threads, F f, size_t smem = 0) {
    if (!emu::run_grid(grid, (unsigned)threads, smem, std::function<void()>(f))) {
        std::fprintf(stderr, "emulated launch failed: %s\n", emu::failure.c_str());
        std::exit(2);
    }
}
