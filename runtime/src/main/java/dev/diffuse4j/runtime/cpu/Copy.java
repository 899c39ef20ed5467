package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Numbers;
import dev.diffuse4j.runtime.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Copies, dtype conversions and fills on host memory. */
final class Copy {
    private Copy() {}

    /** Row-major contiguous copy of any strided view, same dtype. */
    static Tensor contiguousCopy(Tensor x) {
        Tensor out = Tensor.zeros(x.dtype(), x.shape());
        copyInto(x, out);
        return out;
    }

    /** Copies a (possibly strided) tensor into a contiguous tensor of the same shape and dtype. */
    static void copyInto(Tensor src, Tensor dst) {
        int es = src.dtype().byteSize();
        MemorySegment s = src.cpuSegment(), d = dst.cpuSegment();
        long dOff = dst.offset() * es;
        int rank = src.rank();
        if (src.isContiguous() || rank == 0) {
            MemorySegment.copy(s, src.offset() * es, d, dOff, src.byteSize());
            return;
        }
        int[] shape = src.shape();
        long[] st = src.strides();
        int inner = shape[rank - 1];
        long innerStride = st[rank - 1];
        long rows = src.numel() / Math.max(inner, 1);
        if (inner == 0) return;
        Parallel.forRange((int) rows, Math.max(1, 16384 / inner), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                long base = src.offset();
                long rem = r;
                for (int dd = rank - 2; dd >= 0; dd--) {
                    base += (rem % shape[dd]) * st[dd];
                    rem /= shape[dd];
                }
                long out = dOff + (long) r * inner * es;
                if (innerStride == 1) {
                    MemorySegment.copy(s, base * es, d, out, (long) inner * es);
                } else {
                    for (int i = 0; i < inner; i++)
                        MemorySegment.copy(s, (base + i * innerStride) * es, d, out + (long) i * es, es);
                }
            }
        });
    }

    static Tensor cast(Tensor x, DType to) {
        if (x.dtype() == to) return contiguousCopy(x);
        Tensor out = Tensor.zeros(to, x.shape());
        MemorySegment s = x.cpuSegment(), d = out.cpuSegment();
        DType from = x.dtype();
        long n = x.numel();
        boolean contiguous = x.isContiguous();
        long base = x.offset() * from.byteSize();
        boolean ints = !from.isFloating() && !to.isFloating();
        Parallel.forRange((int) n, 1 << 14, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                long so = contiguous ? base + (long) i * from.byteSize() : x.byteOffsetOf(i);
                long dst = (long) i * to.byteSize();
                if (ints) writeLong(d, to, dst, Numbers.readLong(s, from, so));
                else Numbers.writeFloat(d, to, dst, Numbers.readFloat(s, from, so));
            }
        });
        return out;
    }

    private static void writeLong(MemorySegment d, DType to, long off, long v) {
        switch (to) {
            case I64 -> d.set(ValueLayout.JAVA_LONG_UNALIGNED, off, v);
            case I32 -> d.set(ValueLayout.JAVA_INT_UNALIGNED, off, (int) v);
            case I16 -> d.set(ValueLayout.JAVA_SHORT_UNALIGNED, off, (short) v);
            case I8, U8 -> d.set(ValueLayout.JAVA_BYTE, off, (byte) v);
            case BOOL -> d.set(ValueLayout.JAVA_BYTE, off, (byte) (v != 0 ? 1 : 0));
            default -> throw new IllegalArgumentException("cast: " + to + " is not an integer type");
        }
    }

    static Tensor full(DType dtype, float value, int... shape) {
        Tensor out = Tensor.zeros(dtype, shape);
        if (value == 0f) return out;
        MemorySegment d = out.cpuSegment();
        long n = out.numel();
        if (dtype == DType.F32) {
            d.asSlice(0, n * 4).elements(ValueLayout.JAVA_FLOAT).forEach(e -> e.set(ValueLayout.JAVA_FLOAT, 0, value));
        } else {
            for (long i = 0; i < n; i++) Numbers.writeFloat(d, dtype, i * dtype.byteSize(), value);
        }
        return out;
    }
}
