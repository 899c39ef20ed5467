// Host emulation of the CUDA features the SIMT kernels use: one std::thread per CUDA thread, a block
// at a time; __syncthreads = block barrier; warp shuffles through a per-warp exchange + barrier.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstddef>
#include <thread>
#include <barrier>
#include <vector>
#include <memory>
#include <algorithm>
using std::min; using std::max;
struct dim3 { unsigned x = 1, y = 1, z = 1; };
inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __maxnreg__(n)
#define __restrict__
#define __shared__ static
#define __align__(n)
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
struct Warp { std::unique_ptr<std::barrier<>> bar; float vals[32]; };
inline std::barrier<>* g_block;
inline std::vector<Warp>* g_warps;
inline void __syncthreads() { g_block->arrive_and_wait(); }
inline float __shfl_xor_sync(unsigned, float v, int o) {
    Warp& w = (*g_warps)[threadIdx.x / 32];
    int lane = threadIdx.x % 32;
    w.vals[lane] = v;
    w.bar->arrive_and_wait();
    float r = w.vals[lane ^ o];
    w.bar->arrive_and_wait();
    return r;
}
template <class F> void launch(dim3 grid, int threads, F f) {
    gridDim = grid; blockDim = dim3{(unsigned)threads, 1, 1};
    for (unsigned z = 0; z < grid.z; z++) for (unsigned y = 0; y < grid.y; y++) for (unsigned x = 0; x < grid.x; x++) {
        std::barrier<> bar(threads);
        std::vector<Warp> warps(threads / 32);
        for (auto& w : warps) w.bar = std::make_unique<std::barrier<>>(32);
        g_block = &bar; g_warps = &warps;
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; t++) ts.emplace_back([&, t, x, y, z] { threadIdx = dim3{(unsigned)t, 0, 0}; blockIdx = dim3{x, y, z}; f(); });
        for (auto& t : ts) t.join();
    }
}
