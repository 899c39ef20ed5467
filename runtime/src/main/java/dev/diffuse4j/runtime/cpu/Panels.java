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
import java.nio.ByteOrder;

/**
 * Packing building blocks: loading a contiguous run of F32/F16/BF16 values into a float array
 * (widening on the way), and transposing a block of rows into the k-major panel layout the
 * micro-kernel reads ({@code dst[k*width + r] = src[r*lds + k]}).
 *
 * <p>The transpose works on 8 rows x 16 columns at a time with three rounds of two-source lane
 * permutes (vpermt2ps): pairs of rows, then quads, then all eight, 24 permutes per 128 values —
 * about 4x faster than a scalar transpose, which would otherwise cost ~10% of a GEMM with K=N=320.
 */
final class Panels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    /** The vector transpose needs 16-lane vectors (AVX-512); other machines use the scalar one. */
    private static final boolean VECTOR_TRANSPOSE = L == 16;
    /** Permutation indexes of the three transpose rounds, two per round (see {@link #transpose8x16}). */
    private static final IntVector[] ROUND = VECTOR_TRANSPOSE ? roundIndexes() : null;

    private Panels() {}

    // ---------------------------------------------------------------- row loads

    /** dst[off .. off+n) = n consecutive values of dtype {@code dt} at {@code byteOff}, as floats. */
    static void loadRow(MemorySegment seg, DType dt, long byteOff, float[] dst, int off, int n) {
        switch (dt) {
            case F32 -> MemorySegment.copy(seg, F32, byteOff, dst, off, n);
            case BF16 -> loadBf16(seg, byteOff, dst, off, n);
            case F16 -> loadF16(seg, byteOff, dst, off, n);
            default -> {
                for (int i = 0; i < n; i++) dst[off + i] = Numbers.readFloat(seg, dt, byteOff + (long) i * dt.byteSize());
            }
        }
    }

    /** Like {@link #loadRow} for values {@code stride} elements apart. */
    static void loadStrided(MemorySegment seg, DType dt, long byteOff, long stride, float[] dst, int off, int n) {
        if (stride == 1) {
            loadRow(seg, dt, byteOff, dst, off, n);
            return;
        }
        long step = stride * dt.byteSize();
        switch (dt) {
            case F32 -> { for (int i = 0; i < n; i++) dst[off + i] = seg.get(F32, byteOff + i * step); }
            case BF16 -> { for (int i = 0; i < n; i++) dst[off + i] = Numbers.bf16ToF32(seg.get(I16, byteOff + i * step)); }
            case F16 -> { for (int i = 0; i < n; i++) dst[off + i] = Float.float16ToFloat(seg.get(I16, byteOff + i * step)); }
            default -> { for (int i = 0; i < n; i++) dst[off + i] = Numbers.readFloat(seg, dt, byteOff + i * step); }
        }
    }

    private static void loadBf16(MemorySegment seg, long byteOff, float[] dst, int off, int n) {
        int i = 0;
        for (; i + L <= n; i += L)
            ((IntVector) ShortVector.fromMemorySegment(S, seg, byteOff + 2L * i, ORDER).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, off + i);
        for (; i < n; i++) dst[off + i] = Numbers.bf16ToF32(seg.get(I16, byteOff + 2L * i));
    }

    /**
     * IEEE half to float without a lookup: shift exponent and mantissa into float position and scale
     * by 2^112 (which also renormalises subnormals exactly), then patch Inf/NaN and the sign.
     */
    private static void loadF16(MemorySegment seg, long byteOff, float[] dst, int off, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S, seg, byteOff + 2L * i, ORDER).convertShape(VectorOperators.S2I, I, 0);
            IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
            IntVector magBits = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13);
            IntVector scaled = magBits.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
            VectorMask<Integer> infNan = magBits.compare(VectorOperators.GE, 0x7C00 << 13);
            VectorMask<Integer> nan = magBits.compare(VectorOperators.GT, 0x7C00 << 13);
            scaled.blend(magBits.or(0x7F800000), infNan).lanewise(VectorOperators.OR, 0x00400000, nan) // quiet NaNs, as Float.float16ToFloat
                    .or(sign).reinterpretAsFloats().intoArray(dst, off + i);
        }
        for (; i < n; i++) dst[off + i] = Float.float16ToFloat(seg.get(I16, byteOff + 2L * i));
    }

    // ---------------------------------------------------------------- transpose into panels

    /**
     * dst[dstOff + k*width + r] = src[srcOff + r*lds + k] for r < rows, k < depth, and zero for
     * rows <= r < width (a panel: MR or NR wide).
     */
    static void transpose(float[] src, int srcOff, int lds, int rows, int depth, float[] dst, int dstOff, int width, float[] tmp) {
        for (int g = 0; g < width; g += 8) {
            int rg = Math.min(8, rows - g);
            int k = 0;
            if (rg == 8 && width - g >= 8 && VECTOR_TRANSPOSE) {
                for (; k + 16 <= depth; k += 16) {
                    int s = srcOff + g * lds + k;
                    if (width == 8) {
                        transpose8x16(src, s, lds, dst, dstOff + k * 8);
                    } else {
                        transpose8x16(src, s, lds, tmp, 0);
                        for (int kk = 0; kk < 16; kk++)
                            FloatVector.fromArray(F8, tmp, kk * 8).intoArray(dst, dstOff + (k + kk) * width + g);
                    }
                }
            }
            int gw = Math.min(8, width - g);
            for (; k < depth; k++) {
                int d = dstOff + k * width + g;
                int r = 0;
                for (; r < rg; r++) dst[d + r] = src[srcOff + (g + r) * lds + k];
                for (; r < gw; r++) dst[d + r] = 0f;
            }
        }
    }

    /** Round s (1..3) merges groups of g = 2^(s-1) rows into 2g rows; see {@link #transpose8x16}. */
    private static IntVector[] roundIndexes() {
        IntVector[] idx = new IntVector[6];
        for (int s = 1; s <= 3; s++) {
            int g = 1 << (s - 1);
            for (int half = 0; half < 2; half++) {
                int[] lanes = new int[16];
                for (int l = 0; l < 16; l++)
                    lanes[l] = ((l % (2 * g)) >= g ? 16 : 0) + (half * (8 / g) + l / (2 * g)) * g + (l % g);
                idx[(s - 1) * 2 + half] = IntVector.fromArray(I, lanes, 0);
            }
        }
        return idx;
    }

    /**
     * 8 rows x 16 columns of src to 16 k-rows of 8 values at dst (128 contiguous floats). After round
     * s a vector holds 2^s rows x 16/2^s columns, column-major: round 1 pairs rows (t), round 2 makes
     * quads (u), round 3 the full 8-row columns, two per output vector. (Written out in full: a
     * helper returning a vector that C2 does not inline would box it.)
     */
    private static void transpose8x16(float[] src, int s, int lds, float[] dst, int d) {
        IntVector p0 = ROUND[0], p1 = ROUND[1], q0 = ROUND[2], q1 = ROUND[3], o0 = ROUND[4], o1 = ROUND[5];
        IntVector r0 = FloatVector.fromArray(F, src, s).reinterpretAsInts();
        IntVector r1 = FloatVector.fromArray(F, src, s + lds).reinterpretAsInts();
        IntVector r2 = FloatVector.fromArray(F, src, s + 2 * lds).reinterpretAsInts();
        IntVector r3 = FloatVector.fromArray(F, src, s + 3 * lds).reinterpretAsInts();
        IntVector r4 = FloatVector.fromArray(F, src, s + 4 * lds).reinterpretAsInts();
        IntVector r5 = FloatVector.fromArray(F, src, s + 5 * lds).reinterpretAsInts();
        IntVector r6 = FloatVector.fromArray(F, src, s + 6 * lds).reinterpretAsInts();
        IntVector r7 = FloatVector.fromArray(F, src, s + 7 * lds).reinterpretAsInts();
        IntVector t00 = p0.selectFrom(r0, r1), t01 = p1.selectFrom(r0, r1);
        IntVector t10 = p0.selectFrom(r2, r3), t11 = p1.selectFrom(r2, r3);
        IntVector t20 = p0.selectFrom(r4, r5), t21 = p1.selectFrom(r4, r5);
        IntVector t30 = p0.selectFrom(r6, r7), t31 = p1.selectFrom(r6, r7);
        IntVector u00 = q0.selectFrom(t00, t10), u01 = q1.selectFrom(t00, t10);
        IntVector u02 = q0.selectFrom(t01, t11), u03 = q1.selectFrom(t01, t11);
        IntVector u10 = q0.selectFrom(t20, t30), u11 = q1.selectFrom(t20, t30);
        IntVector u12 = q0.selectFrom(t21, t31), u13 = q1.selectFrom(t21, t31);
        o0.selectFrom(u00, u10).reinterpretAsFloats().intoArray(dst, d);
        o1.selectFrom(u00, u10).reinterpretAsFloats().intoArray(dst, d + 16);
        o0.selectFrom(u01, u11).reinterpretAsFloats().intoArray(dst, d + 32);
        o1.selectFrom(u01, u11).reinterpretAsFloats().intoArray(dst, d + 48);
        o0.selectFrom(u02, u12).reinterpretAsFloats().intoArray(dst, d + 64);
        o1.selectFrom(u02, u12).reinterpretAsFloats().intoArray(dst, d + 80);
        o0.selectFrom(u03, u13).reinterpretAsFloats().intoArray(dst, d + 96);
        o1.selectFrom(u03, u13).reinterpretAsFloats().intoArray(dst, d + 112);
    }
}
