package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Numbers;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Moves runs of elements between host memory of any dtype and F32. Offsets and strides are in
 * elements unless a name says bytes. Half-precision runs go through small heap arrays because C2
 * vectorises plain array loops over {@link Float#float16ToFloat}/{@link Float#floatToFloat16} (and the
 * bfloat16 bit arithmetic), which it does not do for the same loops over memory segments.
 */
final class Floats {
    private Floats() {}

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;

    /** Element {@code off} (in elements) of {@code s} as float. */
    static float read(MemorySegment s, DType dt, long off) {
        return dt == DType.F32 ? s.get(F32, off * 4) : Numbers.readFloat(s, dt, off * dt.byteSize());
    }

    /** Reads {@code n} elements (any dtype, element stride {@code st}, 0 = broadcast) as F32 into {@code d} at byte {@code dByte}. */
    static void load(MemorySegment s, DType dt, long off, long st, MemorySegment d, long dByte, int n) {
        if (n <= 0) return;
        if (st == 0) {
            fill(d, dByte, read(s, dt, off), n);
        } else if (st != 1) {
            if (dt == DType.F32) {
                for (int i = 0; i < n; i++) d.set(F32, dByte + 4L * i, s.get(F32, 4 * (off + i * st)));
            } else {
                for (int i = 0; i < n; i++) d.set(F32, dByte + 4L * i, Numbers.readFloat(s, dt, (off + i * st) * dt.byteSize()));
            }
        } else {
            switch (dt) {
                case F32 -> MemorySegment.copy(s, off * 4, d, dByte, 4L * n);
                case F16, BF16 -> loadHalf(s, dt == DType.BF16, off, d, dByte, n);
                case F64 -> loadDouble(s, off, d, dByte, n);
                default -> {
                    for (int i = 0; i < n; i++) d.set(F32, dByte + 4L * i, Numbers.readFloat(s, dt, (off + i) * dt.byteSize()));
                }
            }
        }
    }

    /** Writes {@code n} F32 values from {@code s} at byte {@code sByte} into {@code d} as dtype {@code dt}, contiguous from element {@code off}. */
    static void store(MemorySegment s, long sByte, MemorySegment d, DType dt, long off, int n) {
        if (n <= 0) return;
        switch (dt) {
            case F32 -> MemorySegment.copy(s, sByte, d, off * 4, 4L * n);
            case F16, BF16 -> storeHalf(s, sByte, d, dt == DType.BF16, off, n);
            case F64 -> storeDouble(s, sByte, d, off, n);
            default -> {
                for (int i = 0; i < n; i++) Numbers.writeFloat(d, dt, (off + i) * dt.byteSize(), s.get(F32, sByte + 4L * i));
            }
        }
    }

    /** Converts {@code n} elements from (dtype, offset, stride) to (dtype, offset, stride) in any combination. */
    static void convert(MemorySegment s, DType sd, long so, long ss, MemorySegment d, DType dd, long doff, long ds, int n) {
        if (n <= 0) return;
        if (ds == 1) {
            if (sd == dd && ss == 1) {
                MemorySegment.copy(s, so * sd.byteSize(), d, doff * dd.byteSize(), (long) n * sd.byteSize());
                return;
            }
            if (dd == DType.F32 && (sd.isFloating() || ss != 1)) {
                load(s, sd, so, ss, d, doff * 4, n);
                return;
            }
            if (sd.isFloating() && dd.isFloating()) {
                if (sd == DType.F32 && ss == 1) {
                    store(s, so * 4, d, dd, doff, n);
                    return;
                }
                MemorySegment buf = Scratch.get().segment(3, Math.min(n, Scratch.STAGE));
                for (int i = 0; i < n; i += Scratch.STAGE) {
                    int k = Math.min(Scratch.STAGE, n - i);
                    load(s, sd, so + i * ss, ss, buf, 0, k);
                    store(buf, 0, d, dd, doff + i, k);
                }
                return;
            }
        }
        boolean integral = !sd.isFloating() && !dd.isFloating();
        int sb = sd.byteSize(), db = dd.byteSize();
        for (int i = 0; i < n; i++) {
            long src = (so + i * ss) * sb, dst = (doff + i * ds) * db;
            if (integral) writeLong(d, dd, dst, Numbers.readLong(s, sd, src));
            else Numbers.writeFloat(d, dd, dst, Numbers.readFloat(s, sd, src));
        }
    }

    static void fill(MemorySegment d, long dByte, float v, int n) {
        for (int i = 0; i < n; i++) d.set(F32, dByte + 4L * i, v);
    }

    static void writeLong(MemorySegment d, DType to, long byteOff, long v) {
        switch (to) {
            case I64 -> d.set(ValueLayout.JAVA_LONG_UNALIGNED, byteOff, v);
            case I32 -> d.set(ValueLayout.JAVA_INT_UNALIGNED, byteOff, (int) v);
            case I16 -> d.set(I16, byteOff, (short) v);
            case I8, U8 -> d.set(ValueLayout.JAVA_BYTE, byteOff, (byte) v);
            case BOOL -> d.set(ValueLayout.JAVA_BYTE, byteOff, (byte) (v != 0 ? 1 : 0));
            default -> Numbers.writeFloat(d, to, byteOff, v);
        }
    }

    private static void loadHalf(MemorySegment s, boolean bf16, long off, MemorySegment d, long dByte, int n) {
        Scratch sc = Scratch.get();
        short[] h = sc.shorts;
        float[] f = sc.floats;
        for (int i = 0; i < n; i += Scratch.STAGE) {
            int k = Math.min(Scratch.STAGE, n - i);
            MemorySegment.copy(s, I16, 2 * (off + i), h, 0, k);
            if (bf16) bf16ToF32(h, f, k);
            else f16ToF32(h, f, k);
            MemorySegment.copy(f, 0, d, F32, dByte + 4L * i, k);
        }
    }

    private static void storeHalf(MemorySegment s, long sByte, MemorySegment d, boolean bf16, long off, int n) {
        Scratch sc = Scratch.get();
        short[] h = sc.shorts;
        float[] f = sc.floats;
        for (int i = 0; i < n; i += Scratch.STAGE) {
            int k = Math.min(Scratch.STAGE, n - i);
            MemorySegment.copy(s, F32, sByte + 4L * i, f, 0, k);
            if (bf16) f32ToBf16(f, h, k);
            else f32ToF16(f, h, k);
            MemorySegment.copy(h, 0, d, I16, 2 * (off + i), k);
        }
    }

    private static void loadDouble(MemorySegment s, long off, MemorySegment d, long dByte, int n) {
        Scratch sc = Scratch.get();
        for (int i = 0; i < n; i += Scratch.STAGE) {
            int k = Math.min(Scratch.STAGE, n - i);
            MemorySegment.copy(s, F64, 8 * (off + i), sc.doubles, 0, k);
            for (int j = 0; j < k; j++) sc.floats[j] = (float) sc.doubles[j];
            MemorySegment.copy(sc.floats, 0, d, F32, dByte + 4L * i, k);
        }
    }

    private static void storeDouble(MemorySegment s, long sByte, MemorySegment d, long off, int n) {
        Scratch sc = Scratch.get();
        for (int i = 0; i < n; i += Scratch.STAGE) {
            int k = Math.min(Scratch.STAGE, n - i);
            MemorySegment.copy(s, F32, sByte + 4L * i, sc.floats, 0, k);
            for (int j = 0; j < k; j++) sc.doubles[j] = sc.floats[j];
            MemorySegment.copy(sc.doubles, 0, d, F64, 8 * (off + i), k);
        }
    }

    // The plain array loops below are vectorised by C2's superword pass; the others use the Vector API.

    static void f16ToF32(short[] h, float[] f, int n) {
        for (int i = 0; i < n; i++) f[i] = Float.float16ToFloat(h[i]);
    }

    static void f32ToF16(float[] f, short[] h, int n) {
        for (int i = 0; i < n; i++) h[i] = Float.floatToFloat16(f[i]);
    }

    static void bf16ToF32(short[] h, float[] f, int n) {
        int i = 0;
        for (int up = VecMath.F.loopBound(n); i < up; i += VecMath.LANES)
            ShortVector.fromArray(HALF_SHORTS, h, i).convertShape(VectorOperators.S2I, IntVector.SPECIES_PREFERRED, 0)
                    .reinterpretAsInts().lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(f, i);
        for (; i < n; i++) f[i] = Float.intBitsToFloat(h[i] << 16);
    }

    private static final VectorSpecies<Short> HALF_SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(VecMath.F.vectorBitSize() / 2));

    /**
     * Round to nearest even, as {@link Numbers#f32ToBf16}; NaN stays a (quiet) NaN. Written with the
     * Vector API: C2 does not vectorise the scalar form (its NaN select), which is 7x slower.
     */
    static void f32ToBf16(float[] f, short[] h, int n) {
        int i = 0;
        for (int up = VecMath.F.loopBound(n); i < up; i += VecMath.LANES) {
            IntVector bits = FloatVector.fromArray(VecMath.F, f, i).reinterpretAsInts();
            IntVector high = bits.lanewise(VectorOperators.LSHR, 16);
            IntVector rounded = bits.add(high.and(1)).add(0x7FFF).lanewise(VectorOperators.LSHR, 16);
            VectorMask<Integer> nan = bits.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000);
            rounded.blend(high.or(0x0040), nan).convertShape(VectorOperators.I2S, HALF_SHORTS, 0).reinterpretAsShorts().intoArray(h, i);
        }
        for (; i < n; i++) h[i] = Numbers.f32ToBf16(f[i]);
    }
}
