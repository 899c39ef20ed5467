// Helpers of the host-emulated Hopper kernel tests (gemm_sm90_test, attention_sm90_test): random
// 16-bit inputs, the relative L2 error against a float64 reference, the report line, and tensor maps
// encoded as the Java backend encodes them (TensorMapSpec.kMajor).
#pragma once
#include <cstdio>
#include <random>
#include <string>
#include <vector>

inline std::mt19937 rng(23);
inline int fails = 0;
template <typename T> inline std::vector<T> rnd(size_t n) { std::uniform_real_distribution<float> u(-1, 1); std::vector<T> v(n); for (auto& x : v) x = from_f32<T>(u(rng)); return v; }
template <typename T> inline double relerr(const std::vector<double>& r, const std::vector<T>& g) {
    double n = 0, d = 0; for (size_t i = 0; i < r.size(); i++) { double e = to_f32(g[i]) - r[i]; if (std::isnan(e)) return 1e9; n += e * e; d += r[i] * r[i]; } return std::sqrt(n / (d + 1e-30)); }
inline void report(const std::string& what, double e, double tol) { printf("%-78s %.2e\n", what.c_str(), e); if (!(e <= tol)) fails++; }
template <typename T> inline double tol() { return std::is_same_v<T, bf16> ? 8e-3 : 1e-3; }

// TensorMapSpec.kMajor: dims {K, rows, batches}, byte strides {row, batch} (one batch: rows * row),
// box {64, boxRows, 1}, 128-byte swizzle, 256-byte L2 promotion, zeros out of bounds.
template <typename T> inline CUtensorMap kmajor_map(const T* base, long rows, long k, long rowStride, long batches, long batchStride, int boxRows) {
    const cuuint64_t dims[3] = {(cuuint64_t)k, (cuuint64_t)rows, (cuuint64_t)batches};
    const cuuint64_t strides[2] = {(cuuint64_t)rowStride * 2, (cuuint64_t)(batches > 1 ? batchStride * 2 : rows * rowStride * 2)};
    const cuuint32_t box[3] = {(cuuint32_t)WG_BK, (cuuint32_t)boxRows, 1}, elementStrides[3] = {1, 1, 1};
    CUtensorMap m;
    CUresult r = cuTensorMapEncodeTiled(&m, std::is_same_v<T, bf16> ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 3,
                                        const_cast<T*>(base), dims, strides, box, elementStrides, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                        CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) { fprintf(stderr, "cuTensorMapEncodeTiled failed (%d)\n", (int)r); std::exit(2); }
    return m;
}

