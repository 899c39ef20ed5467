package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Numbers;
import dev.diffuse4j.runtime.Tensor;

import java.lang.foreign.MemorySegment;

/** Copies, dtype conversions and fills on host memory. */
final class Copy {
    private Copy() {}

    /** Elements per piece when a long run is split across threads. */
    private static final int CHUNK = 1 << 16;

    /** Row-major contiguous copy of any strided view, same dtype. */
    static Tensor contiguousCopy(Tensor x) {
        Tensor out = Tensor.zeros(x.dtype(), x.shape());
        copyInto(x, out);
        return out;
    }

    /** Copies (converting the dtype if they differ) a tensor into another of the same shape; dst may be strided too. */
    static void copyInto(Tensor src, Tensor dst) {
        convert(src.cpuSegment(), src.dtype(), src.offset(), src.shape(), src.strides(),
                dst.cpuSegment(), dst.dtype(), dst.offset(), dst.strides());
    }

    /**
     * The copy engine: element (i...) of the source view (offset {@code so}, strides {@code ss}; 0 strides
     * broadcast) goes to element (i...) of the destination view, converted between the dtypes.
     */
    static void convert(MemorySegment s, DType sd, long so, int[] shape, long[] ss,
                        MemorySegment d, DType dd, long doff, long[] ds) {
        Walk w = Walk.flat(shape, new long[]{so, doff}, ss, ds);
        long srcStride = w.innerStride[0], dstStride = w.innerStride[1];
        w.forEachTile(CHUNK, (row, col, len, at) -> Floats.convert(s, sd, at[0], srcStride, d, dd, at[1], dstStride, len));
    }

    static Tensor cast(Tensor x, DType to) {
        if (x.dtype() == to) return contiguousCopy(x);
        Tensor out = Tensor.zeros(to, x.shape());
        copyInto(x, out);
        return out;
    }

    static Tensor full(DType dtype, float value, int... shape) {
        Tensor out = Tensor.zeros(dtype, shape);
        long n = out.numel();
        if (n == 0 || Float.floatToRawIntBits(value) == 0) return out;
        MemorySegment d = out.cpuSegment();
        int es = dtype.byteSize();
        Numbers.writeFloat(d, dtype, 0, value);
        // Doubling copies: each pass copies everything written so far, so log2(n) memcpy calls fill it.
        long done = 1;
        while (done < n) {
            long k = Math.min(done, n - done);
            MemorySegment.copy(d, 0, d, done * es, k * es);
            done += k;
        }
        return out;
    }
}
