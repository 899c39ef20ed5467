// Stand-in for the driver API header under host emulation: the tensor-map part only (what
// gemm_sm90.cu and its host contract use). CUtensorMap keeps the toolkit's size and alignment (128
// bytes, alignas(128)) but holds plain fields this emulator defines; cuTensorMapEncodeTiled fills
// them after the parameter checks documented in the toolkit's cuda.h, and the emulated
// cp.async.bulk.tensor (emu_sm90.h) reads them.
#pragma once
#include <cstdint>

typedef uint32_t cuuint32_t;
typedef uint64_t cuuint64_t;
typedef enum { CUDA_SUCCESS = 0, CUDA_ERROR_INVALID_VALUE = 1 } CUresult;

// Enum values as in cuda.h (CUDA 13.0); the Java host passes them as integers (TensorMapSpec).
typedef enum {
    CU_TENSOR_MAP_DATA_TYPE_UINT8 = 0, CU_TENSOR_MAP_DATA_TYPE_UINT16, CU_TENSOR_MAP_DATA_TYPE_UINT32,
    CU_TENSOR_MAP_DATA_TYPE_INT32, CU_TENSOR_MAP_DATA_TYPE_UINT64, CU_TENSOR_MAP_DATA_TYPE_INT64,
    CU_TENSOR_MAP_DATA_TYPE_FLOAT16, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, CU_TENSOR_MAP_DATA_TYPE_FLOAT64,
    CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
} CUtensorMapDataType;
typedef enum { CU_TENSOR_MAP_INTERLEAVE_NONE = 0, CU_TENSOR_MAP_INTERLEAVE_16B, CU_TENSOR_MAP_INTERLEAVE_32B } CUtensorMapInterleave;
typedef enum {
    CU_TENSOR_MAP_SWIZZLE_NONE = 0, CU_TENSOR_MAP_SWIZZLE_32B, CU_TENSOR_MAP_SWIZZLE_64B, CU_TENSOR_MAP_SWIZZLE_128B
} CUtensorMapSwizzle;
typedef enum {
    CU_TENSOR_MAP_L2_PROMOTION_NONE = 0, CU_TENSOR_MAP_L2_PROMOTION_L2_64B, CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
    CU_TENSOR_MAP_L2_PROMOTION_L2_256B
} CUtensorMapL2promotion;
typedef enum { CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE = 0, CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA } CUtensorMapFloatOOBfill;

// The emulator's own encoding of a tiled tensor map (at most 5 dimensions, as the driver allows).
struct alignas(128) CUtensorMap {
    const unsigned char* global;   // globalAddress
    uint64_t dim[5];               // globalDim, elements
    uint64_t stride[5];            // stride[0] = element size; stride[i] = globalStrides[i - 1] in bytes
    uint32_t box[5];               // boxDim, elements
    uint8_t rank, elemBytes, swizzle, oobFill;
};
static_assert(sizeof(CUtensorMap) == 128, "CUtensorMap is 128 bytes, as in the toolkit");

inline int emu_tensor_map_elem_bytes(int t) {
    switch (t) {
        case CU_TENSOR_MAP_DATA_TYPE_UINT8: return 1;
        case CU_TENSOR_MAP_DATA_TYPE_UINT16: case CU_TENSOR_MAP_DATA_TYPE_FLOAT16: case CU_TENSOR_MAP_DATA_TYPE_BFLOAT16: return 2;
        case CU_TENSOR_MAP_DATA_TYPE_UINT32: case CU_TENSOR_MAP_DATA_TYPE_INT32: case CU_TENSOR_MAP_DATA_TYPE_FLOAT32: return 4;
        case CU_TENSOR_MAP_DATA_TYPE_UINT64: case CU_TENSOR_MAP_DATA_TYPE_INT64: case CU_TENSOR_MAP_DATA_TYPE_FLOAT64: return 8;
        default: return 0;
    }
}

// cuTensorMapEncodeTiled with the requirements of the toolkit's documentation: 16-byte aligned
// base, dims in [1, 2^32], byte strides multiples of 16 below 2^40, box dims in [1, 256] with the
// inner box a multiple of 16 bytes and at most the swizzle span, element strides in [1, 8]. Only
// what the emulated copy implements is accepted beyond that: no interleave, element strides 1.
inline CUresult cuTensorMapEncodeTiled(CUtensorMap* map, CUtensorMapDataType type, cuuint32_t rank, void* global,
                                       const cuuint64_t* dims, const cuuint64_t* strides, const cuuint32_t* box,
                                       const cuuint32_t* elementStrides, CUtensorMapInterleave interleave, CUtensorMapSwizzle swizzle,
                                       CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill oob) {
    int es = emu_tensor_map_elem_bytes(type);
    if (!map || reinterpret_cast<uintptr_t>(map) % 64 || es == 0 || rank < 1 || rank > 5) return CUDA_ERROR_INVALID_VALUE;
    if (reinterpret_cast<uintptr_t>(global) % 16 || interleave != CU_TENSOR_MAP_INTERLEAVE_NONE) return CUDA_ERROR_INVALID_VALUE;
    if ((int)swizzle < 0 || swizzle > CU_TENSOR_MAP_SWIZZLE_128B || (int)l2 < 0 || l2 > CU_TENSOR_MAP_L2_PROMOTION_L2_256B) return CUDA_ERROR_INVALID_VALUE;
    if (oob != CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE && oob != CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA) return CUDA_ERROR_INVALID_VALUE;
    CUtensorMap m{};
    m.global = static_cast<const unsigned char*>(global);
    m.rank = (uint8_t)rank;
    m.elemBytes = (uint8_t)es;
    m.swizzle = (uint8_t)swizzle;
    m.oobFill = (uint8_t)oob;
    for (uint32_t i = 0; i < rank; i++) {
        if (dims[i] < 1 || dims[i] > (1ull << 32) || box[i] < 1 || box[i] > 256 || elementStrides[i] != 1) return CUDA_ERROR_INVALID_VALUE;
        m.dim[i] = dims[i];
        m.box[i] = box[i];
        if (i > 0) {
            if (strides[i - 1] % 16 || strides[i - 1] >= (1ull << 40)) return CUDA_ERROR_INVALID_VALUE;
            m.stride[i] = strides[i - 1];
        }
    }
    m.stride[0] = (uint64_t)es;
    uint32_t inner = box[0] * es;
    if (inner % 16) return CUDA_ERROR_INVALID_VALUE;
    if (swizzle != CU_TENSOR_MAP_SWIZZLE_NONE && inner > (16u << swizzle)) return CUDA_ERROR_INVALID_VALUE;  // 32, 64, 128 bytes
    *map = m;
    return CUDA_SUCCESS;
}
