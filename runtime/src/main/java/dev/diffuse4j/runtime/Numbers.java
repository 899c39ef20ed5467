package dev.diffuse4j.runtime;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Scalar conversions between the runtime dtypes (IEEE half, bfloat16 with round-to-nearest-even). */
public final class Numbers {
    private Numbers() {}

    public static float f16ToF32(short h) { return Float.float16ToFloat(h); }

    public static short f32ToF16(float f) { return Float.floatToFloat16(f); }

    public static float bf16ToF32(short b) { return Float.intBitsToFloat((b & 0xFFFF) << 16); }

    /** Rounds to the nearest bfloat16, ties to even; NaN stays NaN. */
    public static short f32ToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) return (short) ((bits >>> 16) | 0x0040);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float readFloat(MemorySegment seg, DType dt, long byteOff) {
        return switch (dt) {
            case F32 -> seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, byteOff);
            case F16 -> f16ToF32(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, byteOff));
            case BF16 -> bf16ToF32(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, byteOff));
            case F64 -> (float) seg.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, byteOff);
            case I64 -> seg.get(ValueLayout.JAVA_LONG_UNALIGNED, byteOff);
            case I32 -> seg.get(ValueLayout.JAVA_INT_UNALIGNED, byteOff);
            case I16 -> seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, byteOff);
            case I8 -> seg.get(ValueLayout.JAVA_BYTE, byteOff);
            case U8, BOOL -> seg.get(ValueLayout.JAVA_BYTE, byteOff) & 0xFF;
        };
    }

    public static void writeFloat(MemorySegment seg, DType dt, long byteOff, float v) {
        switch (dt) {
            case F32 -> seg.set(ValueLayout.JAVA_FLOAT_UNALIGNED, byteOff, v);
            case F16 -> seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, byteOff, f32ToF16(v));
            case BF16 -> seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, byteOff, f32ToBf16(v));
            case F64 -> seg.set(ValueLayout.JAVA_DOUBLE_UNALIGNED, byteOff, v);
            case I64 -> seg.set(ValueLayout.JAVA_LONG_UNALIGNED, byteOff, (long) v);
            case I32 -> seg.set(ValueLayout.JAVA_INT_UNALIGNED, byteOff, (int) v);
            case I16 -> seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, byteOff, (short) v);
            case I8, U8 -> seg.set(ValueLayout.JAVA_BYTE, byteOff, (byte) v);
            case BOOL -> seg.set(ValueLayout.JAVA_BYTE, byteOff, (byte) (v != 0 ? 1 : 0));
        }
    }

    public static long readLong(MemorySegment seg, DType dt, long byteOff) {
        return switch (dt) {
            case I64 -> seg.get(ValueLayout.JAVA_LONG_UNALIGNED, byteOff);
            case I32 -> seg.get(ValueLayout.JAVA_INT_UNALIGNED, byteOff);
            case I16 -> seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, byteOff);
            case I8 -> seg.get(ValueLayout.JAVA_BYTE, byteOff);
            case U8, BOOL -> seg.get(ValueLayout.JAVA_BYTE, byteOff) & 0xFF;
            default -> (long) readFloat(seg, dt, byteOff);
        };
    }
}
