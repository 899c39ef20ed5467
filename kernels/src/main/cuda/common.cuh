// Shared device helpers: dtype codes and conversions, strided index maths, warp/block reductions.
// Every kernel stores F32, F16 or BF16 and computes in F32.
#pragma once
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <stdint.h>
#include <stddef.h>

// Dtype codes passed from Java (CudaDType.code()); keep in sync.
enum DCode : int { D_F32 = 0, D_F16 = 1, D_BF16 = 2, D_I32 = 3, D_I64 = 4, D_NONE = -1 };

// Dynamic shared memory, declared through one macro so the host emulator (src/test/emu) can supply it.
#ifndef DYNAMIC_SMEM
#define DYNAMIC_SMEM(T, name) extern __shared__ __align__(128) T name[]
#endif

typedef __half f16;
typedef __nv_bfloat16 bf16;

__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(f16 x) { return __half2float(x); }
__device__ __forceinline__ float to_f32(bf16 x) { return __bfloat162float(x); }

template <typename T> __device__ __forceinline__ T from_f32(float x);
template <> __device__ __forceinline__ float from_f32<float>(float x) { return x; }
template <> __device__ __forceinline__ f16 from_f32<f16>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ bf16 from_f32<bf16>(float x) { return __float2bfloat16_rn(x); }

// Reads element i of a float buffer whose dtype is only known at run time (small parameter tensors:
// gamma, beta, bias). A null pointer reads as `otherwise`.
__device__ __forceinline__ float load_any(const void* p, int dcode, long long i, float otherwise) {
    if (p == nullptr) return otherwise;
    switch (dcode) {
        case D_F32: return static_cast<const float*>(p)[i];
        case D_F16: return __half2float(static_cast<const f16*>(p)[i]);
        case D_BF16: return __bfloat162float(static_cast<const bf16*>(p)[i]);
        case D_I32: return (float)static_cast<const int*>(p)[i];
        case D_I64: return (float)static_cast<const long long*>(p)[i];
        default: return otherwise;
    }
}

__device__ __forceinline__ void store_any(void* p, int dcode, long long i, float v) {
    switch (dcode) {
        case D_F32: static_cast<float*>(p)[i] = v; break;
        case D_F16: static_cast<f16*>(p)[i] = __float2half_rn(v); break;
        case D_BF16: static_cast<bf16*>(p)[i] = __float2bfloat16_rn(v); break;
        case D_I32: static_cast<int*>(p)[i] = (int)v; break;
        case D_I64: static_cast<long long*>(p)[i] = (long long)v; break;
    }
}

// Up to 8 dimensions of a strided view, passed by value. Strides in elements.
#define MAX_RANK 8
struct Strided {
    int rank;
    int pad_;
    long long shape[MAX_RANK];
    long long stride[MAX_RANK];
};

static_assert(sizeof(Strided) == 136, "Strided layout is mirrored by CStruct.strided in the Java backend");

// Element offset of flat row-major index i in a strided view.
__device__ __forceinline__ long long strided_offset(const Strided& s, long long i) {
    long long off = 0;
#pragma unroll
    for (int d = MAX_RANK - 1; d >= 0; d--) {
        if (d < s.rank) {
            long long n = s.shape[d];
            long long q = i / n;
            off += (i - q * n) * s.stride[d];
            i = q;
        }
    }
    return off;
}

#define GRID_STRIDE_LOOP(i, n) \
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// `scratch` holds 32 floats; the call ends with a barrier so scratch can be reused.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float t = lane < nw ? scratch[lane] : 0.f;
    t = warp_sum(t);
    __syncthreads();
    return t;
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_max(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float t = lane < nw ? scratch[lane] : -INFINITY;
    t = warp_max(t);
    __syncthreads();
    return t;
}

// Activations shared by the elementwise, norm and GEGLU kernels.
__device__ __forceinline__ float silu_f(float x) { return x / (1.f + __expf(-x)); }
__device__ __forceinline__ float gelu_erf_f(float x) { return 0.5f * x * (1.f + erff(x * 0.70710678118654752f)); }
__device__ __forceinline__ float gelu_tanh_f(float x) {
    return 0.5f * x * (1.f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}
__device__ __forceinline__ float quick_gelu_f(float x) { return x / (1.f + __expf(-1.702f * x)); }
