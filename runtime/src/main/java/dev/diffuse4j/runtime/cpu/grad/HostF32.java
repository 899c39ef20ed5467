package dev.diffuse4j.runtime.cpu.grad;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cpu.CpuBackend;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Contiguous F32 read access to a CPU tensor of any float dtype and strides: the tensor itself when it
 * is already contiguous F32, else a converted copy that {@link #close} frees.
 */
final class HostF32 implements AutoCloseable {
    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final Tensor copy;
    final MemorySegment seg;
    /** Byte offset of element 0. */
    final long base;

    HostF32(String op, String name, Tensor t) {
        if (!t.dtype().isFloating()) throw new IllegalArgumentException(op + ": " + name + " " + t.describe() + " must be a float tensor");
        if (t.dtype() == DType.F32 && t.isContiguous()) {
            copy = null;
            seg = t.cpuSegment();
            base = t.offset() * 4;
        } else {
            copy = CpuBackend.INSTANCE.cast(t, DType.F32);
            seg = copy.cpuSegment();
            base = copy.offset() * 4;
        }
    }

    float get(long i) { return seg.get(F, base + 4 * i); }

    @Override
    public void close() {
        if (copy != null) copy.close();
    }
}
