// Elementwise kernels over contiguous buffers. Storage F32/F16/BF16, arithmetic in F32.
#include <cuda_fp16.h>
#include <cuda_bf16.h>

extern "C" __global__ void add_f32(const float* __restrict__ a, const float* __restrict__ b,
                                   float* __restrict__ out, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x)
        out[i] = a[i] + b[i];
}
