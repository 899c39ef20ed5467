// Elementwise kernels: unary activations, broadcasting binary ops, affine, GEGLU. Storage
// F32/F16/BF16, arithmetic in F32. Contiguous buffers move 16 bytes per thread and step when every
// pointer is 16-byte aligned; anything else takes the scalar path.
#include "common.cuh"

// Op codes: the ordinals of dev.diffuse4j.runtime.ops.UnaryOp / BinaryOp.
enum UnaryCode { U_SILU, U_GELU_ERF, U_GELU_TANH, U_QUICK_GELU, U_SIGMOID, U_EXP, U_NEG, U_SQRT, U_SQUARE };
enum BinaryCode { B_ADD, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN };

__device__ __forceinline__ float unary_f(int op, float x) {
    switch (op) {
        case U_SILU: return silu_f(x);
        case U_GELU_ERF: return gelu_erf_f(x);
        case U_GELU_TANH: return gelu_tanh_f(x);
        case U_QUICK_GELU: return quick_gelu_f(x);
        case U_SIGMOID: return 1.f / (1.f + __expf(-x));
        case U_EXP: return expf(x);
        case U_NEG: return -x;
        case U_SQRT: return sqrtf(x);
        case U_SQUARE: return x * x;
        default: return __int_as_float(0x7fc00000);
    }
}

__device__ __forceinline__ float binary_f(int op, float a, float b) {
    switch (op) {
        case B_ADD: return a + b;
        case B_SUB: return a - b;
        case B_MUL: return a * b;
        case B_DIV: return a / b;
        case B_MAX: return fmaxf(a, b);
        case B_MIN: return fminf(a, b);
        default: return __int_as_float(0x7fc00000);
    }
}

// 16 bytes of T: 4 floats or 8 halves.
template <typename T> struct Pack {
    static constexpr int N = 16 / sizeof(T);
    union { uint4 raw; T v[N]; };
};

__device__ __forceinline__ bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

template <typename T>
__device__ void unary_impl(const T* __restrict__ x, T* __restrict__ out, long long n, int op) {
    constexpr int N = Pack<T>::N;
    long long nv = (aligned16(x) && aligned16(out)) ? n / N : 0;
    GRID_STRIDE_LOOP(i, nv) {
        Pack<T> p;
        p.raw = reinterpret_cast<const uint4*>(x)[i];
#pragma unroll
        for (int j = 0; j < N; j++) p.v[j] = from_f32<T>(unary_f(op, to_f32(p.v[j])));
        reinterpret_cast<uint4*>(out)[i] = p.raw;
    }
    GRID_STRIDE_LOOP(i, n - nv * N) {
        long long k = nv * N + i;
        out[k] = from_f32<T>(unary_f(op, to_f32(x[k])));
    }
}

template <typename T>
__device__ void affine_impl(const T* __restrict__ x, T* __restrict__ out, long long n, float mul, float add) {
    constexpr int N = Pack<T>::N;
    long long nv = (aligned16(x) && aligned16(out)) ? n / N : 0;
    GRID_STRIDE_LOOP(i, nv) {
        Pack<T> p;
        p.raw = reinterpret_cast<const uint4*>(x)[i];
#pragma unroll
        for (int j = 0; j < N; j++) p.v[j] = from_f32<T>(fmaf(to_f32(p.v[j]), mul, add));
        reinterpret_cast<uint4*>(out)[i] = p.raw;
    }
    GRID_STRIDE_LOOP(i, n - nv * N) {
        long long k = nv * N + i;
        out[k] = from_f32<T>(fmaf(to_f32(x[k]), mul, add));
    }
}

// a, b: same shape, contiguous.
template <typename T>
__device__ void binary_same_impl(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out, long long n, int op) {
    constexpr int N = Pack<T>::N;
    long long nv = (aligned16(a) && aligned16(b) && aligned16(out)) ? n / N : 0;
    GRID_STRIDE_LOOP(i, nv) {
        Pack<T> pa, pb;
        pa.raw = reinterpret_cast<const uint4*>(a)[i];
        pb.raw = reinterpret_cast<const uint4*>(b)[i];
#pragma unroll
        for (int j = 0; j < N; j++) pa.v[j] = from_f32<T>(binary_f(op, to_f32(pa.v[j]), to_f32(pb.v[j])));
        reinterpret_cast<uint4*>(out)[i] = pa.raw;
    }
    GRID_STRIDE_LOOP(i, n - nv * N) {
        long long k = nv * N + i;
        out[k] = from_f32<T>(binary_f(op, to_f32(a[k]), to_f32(b[k])));
    }
}

// a [rows, cols] contiguous, b [cols] broadcast over rows (bias, per-channel scale): the common
// NHWC case, without the general index maths.
template <typename T>
__device__ void binary_row_impl(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out,
                                long long n, long long cols, int op) {
    GRID_STRIDE_LOOP(i, n) out[i] = from_f32<T>(binary_f(op, to_f32(a[i]), to_f32(b[i % cols])));
}

// General broadcast: sa/sb hold the output shape with each operand's strides (0 where broadcast).
template <typename T>
__device__ void binary_bcast_impl(const T* __restrict__ a, Strided sa, const T* __restrict__ b, Strided sb,
                                  T* __restrict__ out, long long n, int op) {
    GRID_STRIDE_LOOP(i, n) out[i] = from_f32<T>(binary_f(op, to_f32(a[strided_offset(sa, i)]), to_f32(b[strided_offset(sb, i)])));
}

// x [rows, 2h] -> out [rows, h] = x[:, :h] * gelu_erf(x[:, h:]).
template <typename T>
__device__ void geglu_impl(const T* __restrict__ x, T* __restrict__ out, long long rows, long long h) {
    GRID_STRIDE_LOOP(i, rows * h) {
        long long r = i / h, c = i - r * h;
        const T* row = x + r * 2 * h;
        out[i] = from_f32<T>(to_f32(row[c]) * gelu_erf_f(to_f32(row[h + c])));
    }
}

#define ELEMENTWISE(T, S)                                                                                     \
    extern "C" __global__ void unary_##S(const T* x, T* out, long long n, int op) { unary_impl<T>(x, out, n, op); } \
    extern "C" __global__ void affine_##S(const T* x, T* out, long long n, float mul, float add) {          \
        affine_impl<T>(x, out, n, mul, add);                                                                 \
    }                                                                                                        \
    extern "C" __global__ void binary_same_##S(const T* a, const T* b, T* out, long long n, int op) {       \
        binary_same_impl<T>(a, b, out, n, op);                                                               \
    }                                                                                                        \
    extern "C" __global__ void binary_row_##S(const T* a, const T* b, T* out, long long n, long long cols, int op) { \
        binary_row_impl<T>(a, b, out, n, cols, op);                                                          \
    }                                                                                                        \
    extern "C" __global__ void binary_bcast_##S(const T* a, Strided sa, const T* b, Strided sb, T* out, long long n, int op) { \
        binary_bcast_impl<T>(a, sa, b, sb, out, n, op);                                                      \
    }                                                                                                        \
    extern "C" __global__ void geglu_##S(const T* x, T* out, long long rows, long long h) { geglu_impl<T>(x, out, rows, h); }

ELEMENTWISE(float, f32)
ELEMENTWISE(f16, f16)
ELEMENTWISE(bf16, bf16)
