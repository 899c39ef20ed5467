// Data movement: strided copies (contiguous(), concat into slices, broadcast expansion), dtype
// casts from any strided view, fills, nearest 2x upsampling (NHWC), embedding gather and the
// sinusoidal timestep embedding.
#include "common.cuh"

// dst (strided) <- src (strided), both views of the same shape; elements of E bytes moved verbatim.
template <typename E>
__device__ void copy_impl(const E* __restrict__ src, Strided ss, E* __restrict__ dst, Strided ds, long long n) {
    GRID_STRIDE_LOOP(i, n) dst[strided_offset(ds, i)] = src[strided_offset(ss, i)];
}

extern "C" __global__ void copy_strided_e1(const uint8_t* s, Strided ss, uint8_t* d, Strided ds, long long n) { copy_impl(s, ss, d, ds, n); }
extern "C" __global__ void copy_strided_e2(const uint16_t* s, Strided ss, uint16_t* d, Strided ds, long long n) { copy_impl(s, ss, d, ds, n); }
extern "C" __global__ void copy_strided_e4(const uint32_t* s, Strided ss, uint32_t* d, Strided ds, long long n) { copy_impl(s, ss, d, ds, n); }
extern "C" __global__ void copy_strided_e8(const uint64_t* s, Strided ss, uint64_t* d, Strided ds, long long n) { copy_impl(s, ss, d, ds, n); }

// Contiguous dst <- strided src, converting between any two of F32/F16/BF16/I32/I64. Integer to
// integer goes through 64-bit integers (exact); everything else through F32 (round to nearest even).
extern "C" __global__ void cast_strided(const void* src, Strided ss, int scode, void* dst, int dcode, long long n) {
    bool ints = (scode == D_I32 || scode == D_I64) && (dcode == D_I32 || dcode == D_I64);
    GRID_STRIDE_LOOP(i, n) {
        long long o = strided_offset(ss, i);
        if (ints) {
            long long v = scode == D_I64 ? static_cast<const long long*>(src)[o] : static_cast<const int*>(src)[o];
            if (dcode == D_I64) static_cast<long long*>(dst)[i] = v;
            else static_cast<int*>(dst)[i] = (int)v;
        } else {
            store_any(dst, dcode, i, load_any(src, scode, o, 0.f));
        }
    }
}

// Fill with a bit pattern of E bytes (the value already converted to the dtype on the host).
extern "C" __global__ void fill_e2(uint16_t* d, long long n, uint16_t bits) { GRID_STRIDE_LOOP(i, n) d[i] = bits; }
extern "C" __global__ void fill_e4(uint32_t* d, long long n, uint32_t bits) { GRID_STRIDE_LOOP(i, n) d[i] = bits; }
extern "C" __global__ void fill_e8(uint64_t* d, long long n, uint64_t bits) { GRID_STRIDE_LOOP(i, n) d[i] = bits; }

// x [B, H, W, C] -> out [B, 2H, 2W, C], elements of E bytes; C counted in E units (the host passes
// 16-byte units when C*size allows, so most SD shapes move 16 bytes per thread).
template <typename E>
__device__ void upsample_impl(const E* __restrict__ x, E* __restrict__ out, int B, int H, int W, long long C) {
    long long n = (long long)B * 2 * H * 2 * W * C;
    GRID_STRIDE_LOOP(i, n) {
        long long c = i % C, p = i / C;
        int ox = (int)(p % (2 * W)); p /= 2 * W;
        int oy = (int)(p % (2 * H));
        long long b = p / (2 * H);
        out[i] = x[((b * H + (oy >> 1)) * W + (ox >> 1)) * C + c];
    }
}
extern "C" __global__ void upsample2x_e2(const uint16_t* x, uint16_t* o, int B, int H, int W, long long C) { upsample_impl(x, o, B, H, W, C); }
extern "C" __global__ void upsample2x_e4(const uint32_t* x, uint32_t* o, int B, int H, int W, long long C) { upsample_impl(x, o, B, H, W, C); }
extern "C" __global__ void upsample2x_e16(const uint4* x, uint4* o, int B, int H, int W, long long C) { upsample_impl(x, o, B, H, W, C); }

// out[i, :] = table[ids[i], :]; ids are I32 and were range-checked on the host. E-byte elements,
// D counted in E units.
template <typename E>
__device__ void embedding_impl(const E* __restrict__ table, const int* __restrict__ ids, E* __restrict__ out, long long nIds, long long D) {
    GRID_STRIDE_LOOP(i, nIds * D) {
        long long r = i / D, c = i - r * D;
        out[i] = table[(long long)ids[r] * D + c];
    }
}
extern "C" __global__ void embedding_e2(const uint16_t* t, const int* ids, uint16_t* o, long long n, long long D) { embedding_impl(t, ids, o, n, D); }
extern "C" __global__ void embedding_e4(const uint32_t* t, const int* ids, uint32_t* o, long long n, long long D) { embedding_impl(t, ids, o, n, D); }
extern "C" __global__ void embedding_e16(const uint4* t, const int* ids, uint4* o, long long n, long long D) { embedding_impl(t, ids, o, n, D); }

// t [B] (any dtype) -> out [B, dim] (dtype dcode), as diffusers computes it in float32:
// f_i = exp(i * -ln(maxPeriod) / (half - freqShift)) with every step rounded to F32,
// [sin(t f) | cos(t f)], or [cos | sin] when flip; an odd dim leaves the last column zero.
extern "C" __global__ void timestep_embedding(const void* t, int tcode, void* out, int dcode, int B, int dim,
                                              int flip, float freqShift, float logMaxPeriod) {
    int half = dim / 2;
    float negLog = -logMaxPeriod, denom = (float)((double)half - (double)freqShift);
    GRID_STRIDE_LOOP(i, (long long)B * dim) {
        int b = (int)(i / dim), j = (int)(i - (long long)b * dim);
        float v = 0.f;
        if (j < 2 * half) {
            int k = j < half ? j : j - half;
            bool first = j < half;
            float e = __fdiv_rn(__fmul_rn((float)k, negLog), denom);
            float f = (float)exp((double)e);
            float arg = __fmul_rn(load_any(t, tcode, b, 0.f), f);
            // sin/cos of the F32 argument (up to ~1000 rad) in double, rounded once.
            bool useSin = first != (flip != 0);
            v = (float)(useSin ? sin((double)arg) : cos((double)arg));
        }
        store_any(out, dcode, i, v);
    }
}
