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
 * Packing building blocks: loading a contiguous run of F32/F16/BF16 values into a float array
 * (widening on the way), and transposing a block of rows into the k-major panel layout the
 * micro-kernel reads ({@code dst[k*width + r] = src[r*lds + k]}).
 *
 * <p>The transpose works on blocks of 16 columns with rounds of two-source lane permutes
 * (vpermt2ps): pairs of rows, then quads, then eights (8-row A panels, 24 permutes per 128
 * values), then sixteens (B panels, 64 per 256). That is 4-5x faster than a scalar transpose,
 * which would otherwise cost ~10% of a GEMM with K = N = 320.
 *
 * <p>Host memory is read with {@code MemorySegment.copy} into arrays and all vector work is done on
 * arrays: the Vector API's segment accessors fall back to slow Java code when C2 cannot pin down the
 * segment's class (mapped checkpoint segments and allocated tensors share these call sites).
 */
final class Panels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    /** Half-precision rows are copied into this per-thread buffer in chunks, then widened from the array. */
    private static final int HALF_CHUNK = 1024;
    private static final ThreadLocal<short[]> HALVES = ThreadLocal.withInitial(() -> new short[HALF_CHUNK]);

    /** The vector transpose needs 16-lane vectors (AVX-512); other machines use the scalar one. */
    private static final boolean VECTOR_TRANSPOSE = L == 16;
    /** Permutation indexes of the four transpose rounds, two per round (see {@link #transpose8x16}). */
    private static final IntVector[] ROUND = VECTOR_TRANSPOSE ? roundIndexes() : null;

    private Panels() {}

    // ---------------------------------------------------------------- row loads

    /** dst[off .. off+n) = n consecutive values of dtype {@code dt} at {@code byteOff}, as floats. */
    static void loadRow(MemorySegment seg, DType dt, long byteOff, float[] dst, int off, int n) {
        switch (dt) {
            case F32 -> {
                if (n >= 16) MemorySegment.copy(seg, F32, byteOff, dst, off, n);
                else for (int i = 0; i < n; i++) dst[off + i] = seg.get(F32, byteOff + 4L * i);
            }
            case F16, BF16 -> {
                short[] halves = HALVES.get();
                for (int done = 0; done < n; done += HALF_CHUNK) {
                    int c = Math.min(HALF_CHUNK, n - done);
                    MemorySegment.copy(seg, I16, byteOff + 2L * done, halves, 0, c);
                    if (dt == DType.F16) widenF16(halves, c, dst, off + done);
                    else widenBf16(halves, c, dst, off + done);
                }
            }
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

    private static void widenBf16(short[] h, int n, float[] dst, int off) {
        int i = 0;
        for (; i + L <= n; i += L)
            ((IntVector) ShortVector.fromArray(S, h, i).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, off + i);
        for (; i < n; i++) dst[off + i] = Numbers.bf16ToF32(h[i]);
    }

    /**
     * IEEE half to float without a lookup: shift exponent and mantissa into float position and scale
     * by 2^112 (which also renormalises subnormals exactly), then patch Inf/NaN and the sign.
     */
    private static void widenF16(short[] h, int n, float[] dst, int off) {
        int i = 0;
        for (; i + L <= n; i += L) {
            IntVector x = (IntVector) ShortVector.fromArray(S, h, i).convertShape(VectorOperators.S2I, I, 0);
            IntVector sign = x.and(0x8000).lanewise(VectorOperators.LSHL, 16);
            IntVector magBits = x.and(0x7FFF).lanewise(VectorOperators.LSHL, 13);
            IntVector scaled = magBits.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
            VectorMask<Integer> infNan = magBits.compare(VectorOperators.GE, 0x7C00 << 13);
            VectorMask<Integer> nan = magBits.compare(VectorOperators.GT, 0x7C00 << 13);
            scaled.blend(magBits.or(0x7F800000), infNan)
                    .lanewise(VectorOperators.OR, 0x00400000, nan) // NaNs come out quiet, as from Float.float16ToFloat
                    .or(sign).reinterpretAsFloats().intoArray(dst, off + i);
        }
        for (; i < n; i++) dst[off + i] = Float.float16ToFloat(h[i]);
    }

    // ---------------------------------------------------------------- transpose into panels

    /**
     * dst[dstOff + k*width + r] = src[srcOff + r*lds + k] for r < rows, k < depth, and zero for
     * rows <= r < width (a panel: MR or NR wide).
     */
    static void transpose(float[] src, int srcOff, int lds, int rows, int depth, float[] dst, int dstOff, int width) {
        int g = 0;
        while (g < width) {
            int k = 0;
            if (VECTOR_TRANSPOSE && width - g >= 16 && rows - g >= 16) {
                for (; k + 16 <= depth; k += 16) transpose16x16(src, srcOff + g * lds + k, lds, dst, dstOff + k * width + g, width);
                scalarTranspose(src, srcOff, lds, g, 16, k, depth, dst, dstOff, width);
                g += 16;
            } else if (VECTOR_TRANSPOSE && width == 8 && rows >= 8) {
                for (; k + 16 <= depth; k += 16) transpose8x16(src, srcOff + k, lds, dst, dstOff + k * 8);
                scalarTranspose(src, srcOff, lds, 0, 8, k, depth, dst, dstOff, 8);
                g += 8;
            } else {
                int gw = Math.min(8, width - g);
                for (; k < depth; k++) {
                    int d = dstOff + k * width + g;
                    int r = 0;
                    for (; r < Math.min(gw, rows - g); r++) dst[d + r] = src[srcOff + (g + r) * lds + k];
                    for (; r < gw; r++) dst[d + r] = 0f;
                }
                g += gw;
            }
        }
    }

    /** Rows [g, g+n) (all valid), depth [k, depth). */
    private static void scalarTranspose(float[] src, int srcOff, int lds, int g, int n, int k, int depth, float[] dst, int dstOff, int width) {
        for (; k < depth; k++) {
            int d = dstOff + k * width + g;
            for (int r = 0; r < n; r++) dst[d + r] = src[srcOff + (g + r) * lds + k];
        }
    }

    /** Round s (1..4) merges groups of g = 2^(s-1) rows into 2g rows; see {@link #transpose8x16}. */
    private static IntVector[] roundIndexes() {
        IntVector[] idx = new IntVector[8];
        for (int s = 1; s <= 4; s++) {
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

    /**
     * 16 rows x 16 columns of src to 16 k-rows of 16 values, k-row c at dst[d + c*ld]: the three
     * rounds of {@link #transpose8x16} on each half, then a fourth that joins the two 8-row halves.
     */
    private static void transpose16x16(float[] src, int s, int lds, float[] dst, int d, int ld) {
        IntVector p0 = ROUND[0], p1 = ROUND[1], q0 = ROUND[2], q1 = ROUND[3], o0 = ROUND[4], o1 = ROUND[5], z0 = ROUND[6], z1 = ROUND[7];
        IntVector r0 = FloatVector.fromArray(F, src, s).reinterpretAsInts();
        IntVector r1 = FloatVector.fromArray(F, src, s + lds).reinterpretAsInts();
        IntVector r2 = FloatVector.fromArray(F, src, s + 2 * lds).reinterpretAsInts();
        IntVector r3 = FloatVector.fromArray(F, src, s + 3 * lds).reinterpretAsInts();
        IntVector r4 = FloatVector.fromArray(F, src, s + 4 * lds).reinterpretAsInts();
        IntVector r5 = FloatVector.fromArray(F, src, s + 5 * lds).reinterpretAsInts();
        IntVector r6 = FloatVector.fromArray(F, src, s + 6 * lds).reinterpretAsInts();
        IntVector r7 = FloatVector.fromArray(F, src, s + 7 * lds).reinterpretAsInts();
        IntVector r8 = FloatVector.fromArray(F, src, s + 8 * lds).reinterpretAsInts();
        IntVector r9 = FloatVector.fromArray(F, src, s + 9 * lds).reinterpretAsInts();
        IntVector r10 = FloatVector.fromArray(F, src, s + 10 * lds).reinterpretAsInts();
        IntVector r11 = FloatVector.fromArray(F, src, s + 11 * lds).reinterpretAsInts();
        IntVector r12 = FloatVector.fromArray(F, src, s + 12 * lds).reinterpretAsInts();
        IntVector r13 = FloatVector.fromArray(F, src, s + 13 * lds).reinterpretAsInts();
        IntVector r14 = FloatVector.fromArray(F, src, s + 14 * lds).reinterpretAsInts();
        IntVector r15 = FloatVector.fromArray(F, src, s + 15 * lds).reinterpretAsInts();
        IntVector t00 = p0.selectFrom(r0, r1), t01 = p1.selectFrom(r0, r1);
        IntVector t10 = p0.selectFrom(r2, r3), t11 = p1.selectFrom(r2, r3);
        IntVector t20 = p0.selectFrom(r4, r5), t21 = p1.selectFrom(r4, r5);
        IntVector t30 = p0.selectFrom(r6, r7), t31 = p1.selectFrom(r6, r7);
        IntVector t40 = p0.selectFrom(r8, r9), t41 = p1.selectFrom(r8, r9);
        IntVector t50 = p0.selectFrom(r10, r11), t51 = p1.selectFrom(r10, r11);
        IntVector t60 = p0.selectFrom(r12, r13), t61 = p1.selectFrom(r12, r13);
        IntVector t70 = p0.selectFrom(r14, r15), t71 = p1.selectFrom(r14, r15);
        IntVector u00 = q0.selectFrom(t00, t10), u01 = q1.selectFrom(t00, t10);
        IntVector u02 = q0.selectFrom(t01, t11), u03 = q1.selectFrom(t01, t11);
        IntVector u10 = q0.selectFrom(t20, t30), u11 = q1.selectFrom(t20, t30);
        IntVector u12 = q0.selectFrom(t21, t31), u13 = q1.selectFrom(t21, t31);
        IntVector u20 = q0.selectFrom(t40, t50), u21 = q1.selectFrom(t40, t50);
        IntVector u22 = q0.selectFrom(t41, t51), u23 = q1.selectFrom(t41, t51);
        IntVector u30 = q0.selectFrom(t60, t70), u31 = q1.selectFrom(t60, t70);
        IntVector u32 = q0.selectFrom(t61, t71), u33 = q1.selectFrom(t61, t71);
        IntVector v00 = o0.selectFrom(u00, u10), v01 = o1.selectFrom(u00, u10);
        IntVector v02 = o0.selectFrom(u01, u11), v03 = o1.selectFrom(u01, u11);
        IntVector v04 = o0.selectFrom(u02, u12), v05 = o1.selectFrom(u02, u12);
        IntVector v06 = o0.selectFrom(u03, u13), v07 = o1.selectFrom(u03, u13);
        IntVector v10 = o0.selectFrom(u20, u30), v11 = o1.selectFrom(u20, u30);
        IntVector v12 = o0.selectFrom(u21, u31), v13 = o1.selectFrom(u21, u31);
        IntVector v14 = o0.selectFrom(u22, u32), v15 = o1.selectFrom(u22, u32);
        IntVector v16 = o0.selectFrom(u23, u33), v17 = o1.selectFrom(u23, u33);
        z0.selectFrom(v00, v10).reinterpretAsFloats().intoArray(dst, d + 0 * ld);
        z1.selectFrom(v00, v10).reinterpretAsFloats().intoArray(dst, d + 1 * ld);
        z0.selectFrom(v01, v11).reinterpretAsFloats().intoArray(dst, d + 2 * ld);
        z1.selectFrom(v01, v11).reinterpretAsFloats().intoArray(dst, d + 3 * ld);
        z0.selectFrom(v02, v12).reinterpretAsFloats().intoArray(dst, d + 4 * ld);
        z1.selectFrom(v02, v12).reinterpretAsFloats().intoArray(dst, d + 5 * ld);
        z0.selectFrom(v03, v13).reinterpretAsFloats().intoArray(dst, d + 6 * ld);
        z1.selectFrom(v03, v13).reinterpretAsFloats().intoArray(dst, d + 7 * ld);
        z0.selectFrom(v04, v14).reinterpretAsFloats().intoArray(dst, d + 8 * ld);
        z1.selectFrom(v04, v14).reinterpretAsFloats().intoArray(dst, d + 9 * ld);
        z0.selectFrom(v05, v15).reinterpretAsFloats().intoArray(dst, d + 10 * ld);
        z1.selectFrom(v05, v15).reinterpretAsFloats().intoArray(dst, d + 11 * ld);
        z0.selectFrom(v06, v16).reinterpretAsFloats().intoArray(dst, d + 12 * ld);
        z1.selectFrom(v06, v16).reinterpretAsFloats().intoArray(dst, d + 13 * ld);
        z0.selectFrom(v07, v17).reinterpretAsFloats().intoArray(dst, d + 14 * ld);
        z1.selectFrom(v07, v17).reinterpretAsFloats().intoArray(dst, d + 15 * ld);
    }
}
