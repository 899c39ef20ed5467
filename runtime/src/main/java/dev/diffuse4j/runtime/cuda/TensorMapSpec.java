package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;

import java.util.Arrays;

/**
 * The arguments of {@code cuTensorMapEncodeTiled} for one GEMM operand as gemm_sm90.cu loads it:
 * a batch of K-major matrices {@code [batches][rows][K]} (row stride and batch stride in
 * elements) cut into boxes of {@code boxRows x boxK} elements, 128-byte swizzled in shared memory,
 * zeros read outside the matrix. Pure arithmetic and validation, so it is tested without a GPU;
 * {@link HopperDriver#encode} turns it into the 128-byte CUtensorMap.
 *
 * <p>Dimension 0 is K (contiguous), 1 the rows, 2 the batch. A broadcast operand (batch stride 0)
 * is described with one batch entry; the kernel then reads batch 0 for every output batch.
 *
 * @param dims           globalDim: {K, rows, batches}
 * @param strides        globalStrides in bytes of dimensions 1 and 2: {row stride, batch stride}
 * @param box            boxDim: {boxK, boxRows, 1}
 * @param elementStrides 1 in every dimension (dense boxes)
 */
record TensorMapSpec(int dataType, long[] dims, long[] strides, int[] box, int[] elementStrides,
                     int interleave, int swizzle, int l2Promotion, int oobFill) {

    // Enum values of cuda.h (CUDA 13.0): CUtensorMapDataType, CUtensorMapInterleave, CUtensorMapSwizzle,
    // CUtensorMapL2promotion, CUtensorMapFloatOOBfill.
    static final int DATA_TYPE_FLOAT16 = 6, DATA_TYPE_BFLOAT16 = 9;
    static final int INTERLEAVE_NONE = 0;
    static final int SWIZZLE_128B = 3;
    static final int L2_PROMOTION_256B = 3;
    static final int OOB_FILL_ZEROS = 0;  // CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE: out-of-bounds elements read as zero
    static final int RANK = 3;
    static final int SWIZZLE_BYTES = 128;
    private static final long MAX_STRIDE = 1L << 40, MAX_DIM = 1L << 32;

    /** The CUtensorMapDataType of a 16-bit float storage type. */
    static int dataType(String op, DType t) {
        return switch (t) {
            case F16 -> DATA_TYPE_FLOAT16;
            case BF16 -> DATA_TYPE_BFLOAT16;
            default -> throw new IllegalArgumentException(op + ": the Hopper GEMM takes F16 or BF16 operands, not " + t);
        };
    }

    /**
     * Why a K-major operand cannot be described by a tensor map, or null when it can. The rules of
     * cuTensorMapEncodeTiled (cuda.h): 16-byte aligned base, byte strides multiples of 16 below
     * 2^40, dimensions in [1, 2^32], box dimensions in [1, 256] with the inner box at most the
     * 128-byte swizzle span. Batches must not overlap (batch stride >= rows * row stride) so the
     * strides grow with the dimension, as the driver's layout assumes.
     */
    static String refusal(DType t, long address, long rows, long k, long rowStride, long batches, long batchStride,
                          int boxRows, int boxK) {
        if (t != DType.F16 && t != DType.BF16) return "dtype " + t + " (F16 or BF16 only)";
        long es = t.byteSize();
        if (rows < 1 || k < 1 || batches < 1) return "empty operand (" + batches + " x " + rows + " x " + k + ")";
        if (rows > MAX_DIM || k > MAX_DIM || batches > MAX_DIM) return "a dimension exceeds 2^32";
        if (address % 16 != 0) return "base address 0x" + Long.toHexString(address) + " is not 16-byte aligned";
        if (rowStride < k) return "row stride " + rowStride + " is shorter than a row of K = " + k;
        if (rowStride * es % 16 != 0) return "row stride " + rowStride + " elements (" + rowStride * es + " bytes) is not a multiple of 16 bytes";
        if (rowStride * es >= MAX_STRIDE) return "row stride " + rowStride * es + " bytes exceeds 2^40";
        if (batches > 1) {
            if (batchStride * es % 16 != 0) return "batch stride " + batchStride + " elements is not a multiple of 16 bytes";
            if (batchStride < rows * rowStride) return "batch stride " + batchStride + " overlaps the previous batch (" + rows + " rows of " + rowStride + ")";
            if (batchStride * es >= MAX_STRIDE) return "batch stride " + batchStride * es + " bytes exceeds 2^40";
        }
        if (boxRows < 1 || boxRows > 256 || boxK < 1 || boxK > 256) return "box " + boxK + " x " + boxRows + " outside [1, 256]";
        if (boxK * es > SWIZZLE_BYTES || boxK * es % 16 != 0)
            return "box row of " + boxK * es + " bytes does not fit the 128-byte swizzle span in 16-byte units";
        return null;
    }

    /**
     * The tensor map of {@code batches} K-major matrices [rows, k] with the given strides (elements;
     * batchStride is ignored when batches == 1), or IllegalArgumentException naming the op and shape.
     */
    static TensorMapSpec kMajor(String op, DType t, long address, long rows, long k, long rowStride, long batches, long batchStride,
                                int boxRows, int boxK) {
        String why = refusal(t, address, rows, k, rowStride, batches, batchStride, boxRows, boxK);
        if (why != null)
            throw new IllegalArgumentException(op + ": operand [" + batches + ", " + rows + ", " + k + "] " + t + " (row stride " + rowStride
                    + ", batch stride " + batchStride + ") cannot be loaded by TMA: " + why);
        long es = t.byteSize();
        long rowBytes = rowStride * es;
        // One batch entry: any valid stride past the matrix (the kernel never steps to a second batch).
        long batchBytes = batches > 1 ? batchStride * es : rows * rowBytes;
        return new TensorMapSpec(dataType(op, t), new long[]{k, rows, batches}, new long[]{rowBytes, batchBytes},
                new int[]{boxK, boxRows, 1}, new int[]{1, 1, 1}, INTERLEAVE_NONE, SWIZZLE_128B, L2_PROMOTION_256B, OOB_FILL_ZEROS);
    }

    /** Bytes from the base address to just past the last element the map describes (F16 / BF16). */
    long extentBytes() {
        long es = 2, last = (dims[0] - 1) * es;
        for (int i = 1; i < dims.length; i++) last += (dims[i] - 1) * strides[i - 1];
        return last + es;
    }

    /** Bytes one box brings into shared memory (the count an mbarrier expects per copy). */
    long boxBytes() {
        long n = 2;  // F16 / BF16
        for (int b : box) n *= b;
        return n;
    }

    @Override public boolean equals(Object o) {
        return o instanceof TensorMapSpec s && dataType == s.dataType && Arrays.equals(dims, s.dims) && Arrays.equals(strides, s.strides)
                && Arrays.equals(box, s.box) && Arrays.equals(elementStrides, s.elementStrides) && interleave == s.interleave
                && swizzle == s.swizzle && l2Promotion == s.l2Promotion && oobFill == s.oobFill;
    }

    @Override public int hashCode() { return Arrays.hashCode(dims) * 31 + Arrays.hashCode(strides); }

    @Override public String toString() {
        return "TensorMap(type " + dataType + ", dims " + Arrays.toString(dims) + ", byte strides " + Arrays.toString(strides)
                + ", box " + Arrays.toString(box) + ", swizzle " + swizzle + ")";
    }
}
