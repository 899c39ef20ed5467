package dev.diffuse4j.runtime.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Per-thread scratch buffers for the CPU kernels: native float buffers (so kernels see one segment
 * kind, native, and stay monomorphic) and small heap arrays for dtype conversions. Buffers grow on
 * demand and live as long as their thread; they are not tensor memory and do not count in MemoryStats.
 */
final class Scratch {
    private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);

    /** Element count of the heap staging arrays that dtype conversions work through. */
    static final int STAGE = 2048;

    private final MemorySegment[] segments = new MemorySegment[4];
    final float[] floats = new float[STAGE];
    final short[] shorts = new short[STAGE];
    final double[] doubles = new double[STAGE];

    /** Two vectors of padding for loop tails. */
    private final MemorySegment pad = Arena.ofAuto().allocate(2L * VecMath.F.vectorByteSize(), 64);

    private Scratch() {}

    /** Room for two vectors, zeroed, where a kernel finishes a run that does not fill its last vector. */
    MemorySegment pad() {
        pad.fill((byte) 0);
        return pad;
    }

    static Scratch get() { return LOCAL.get(); }

    /** A native buffer of at least {@code floats} F32 elements; {@code slot} (0..3) tells apart buffers used together. */
    MemorySegment segment(int slot, long floats) {
        MemorySegment s = segments[slot];
        long bytes = Math.max(64, floats * 4);
        if (s == null || s.byteSize() < bytes) {
            long size = Math.max(bytes, s == null ? 0 : s.byteSize() * 2);
            s = Arena.ofAuto().allocate(size, 64);
            segments[slot] = s;
        }
        return s;
    }
}
