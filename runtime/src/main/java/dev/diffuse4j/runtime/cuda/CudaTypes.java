package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;

/** How runtime dtypes and tensors appear to the kernels: dtype codes, name suffixes, addresses. */
final class CudaTypes {
    private CudaTypes() {}

    /** The DCode of common.cuh; -1 for none. */
    static int code(DType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case BF16 -> 2;
            case I32 -> 3;
            case I64 -> 4;
            default -> throw new IllegalArgumentException("dtype " + t + " is not supported by the cuda kernels (F32, F16, BF16, I32, I64)");
        };
    }

    /** Kernel name suffix of a float storage type. */
    static String suffix(DType t) {
        return switch (t) {
            case F32 -> "f32";
            case F16 -> "f16";
            case BF16 -> "bf16";
            default -> throw new IllegalArgumentException("cuda compute kernels take F32, F16 or BF16, not " + t);
        };
    }

    static boolean isHalf(DType t) { return t == DType.F16 || t == DType.BF16; }

    static void requireFloat(String op, Tensor t) {
        DType d = t.dtype();
        if (d != DType.F32 && d != DType.F16 && d != DType.BF16)
            throw new IllegalArgumentException(op + ": cuda computes on F32, F16 or BF16 tensors, got " + t.describe());
    }

    /** Device address of a CUDA tensor's first element. */
    static long address(Tensor t) {
        if (!(t.storage() instanceof CudaStorage cs))
            throw new IllegalArgumentException("tensor " + t.describe() + " lives on " + t.device() + ", not on a cuda device");
        return cs.address() + t.offset() * t.dtype().byteSize();
    }

    /** Device address or 0 for null. */
    static long addressOrNull(Tensor t) { return t == null ? 0L : address(t); }
}
