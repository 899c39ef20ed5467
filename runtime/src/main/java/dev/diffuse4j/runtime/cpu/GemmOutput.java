package dev.diffuse4j.runtime.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Where GEMM tiles go, and the fused epilogue: C = alpha * AB + beta * C + bias[j] on the first
 * k-block, C += alpha * AB on later ones (a residual is fused by filling C with it and using
 * beta = 1). C(i, j) is element {@code base + i*ldc + j} of an F32 host segment or of a float
 * array; beta = 0 never reads C, so C may start as garbage.
 *
 * <p>One subclass per kind of C keeps each compiled epilogue straight-line, and no helper returns a
 * vector: C2 boxes vectors returned by a helper it compiled on its own before inlining it ("already
 * compiled into a medium method"), which made the epilogue four times slower.
 */
abstract sealed class GemmOutput {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final int NR = GemmKernel.NR;
    static final ByteOrder ORDER = ByteOrder.nativeOrder();

    /** C = AB + beta C + bias[j] (bias may be null; beta 0 or 1), C in an F32 segment. */
    static GemmOutput withBias(MemorySegment c, long base, long ldc, float beta, float[] bias) {
        return new Segment(c, base, ldc, 1f, beta, bias);
    }

    /** C = alpha AB + beta C, C in an F32 segment. */
    static GemmOutput segment(MemorySegment c, long base, long ldc, float alpha, float beta) {
        return new Segment(c, base, ldc, alpha, beta, null);
    }

    /** C = alpha AB + beta C, C in a float array. */
    static GemmOutput array(float[] c, int base, int ldc, float alpha, float beta) {
        return new Array(c, base, ldc, alpha, beta);
    }

    /**
     * Multiplies packed panels ({@link GemmKernel#multiply}'s arguments) and applies the epilogue to
     * the rows x cols block of C at (i0, j0); {@code tile} is MR x NR scratch.
     */
    void multiply(int kc, float[] a, int aOff, float[] b, int bOff, float[] tile, int i0, int j0, int rows, int cols, boolean firstK) {
        GemmKernel.multiply(kc, a, aOff, b, bOff, tile);
        store(tile, i0, j0, rows, cols, firstK);
    }

    /** Writes rows x cols of {@code tile} (row stride NR) to C at (i0, j0). */
    abstract void store(float[] tile, int i0, int j0, int rows, int cols, boolean firstK);

    static final class Segment extends GemmOutput {
        private final MemorySegment seg;
        private final long base, ldc;
        private final float alpha, beta;
        private final float[] bias;

        Segment(MemorySegment seg, long base, long ldc, float alpha, float beta, float[] bias) {
            this.seg = seg;
            this.base = base;
            this.ldc = ldc;
            this.alpha = alpha;
            this.beta = beta;
            this.bias = bias;
        }

        /** Whole tiles with alpha = 1 and beta 0 or 1 go straight from the kernel's registers to C. */
        @Override
        void multiply(int kc, float[] a, int aOff, float[] b, int bOff, float[] tile, int i0, int j0, int rows, int cols, boolean firstK) {
            if (rows == GemmKernel.MR && cols == NR && alpha == 1f) {
                long c = (base + i0 * ldc + j0) * 4;
                if (!firstK || beta == 1f && bias == null) {
                    GemmKernel.multiplyAdd(kc, a, aOff, b, bOff, seg, c, ldc * 4);
                    return;
                }
                if (beta == 0f) {
                    GemmKernel.multiplyStore(kc, a, aOff, b, bOff, seg, c, ldc * 4, bias, j0);
                    return;
                }
            }
            super.multiply(kc, a, aOff, b, bOff, tile, i0, j0, rows, cols, firstK);
        }

        @Override
        void store(float[] tile, int i0, int j0, int rows, int cols, boolean firstK) {
            for (int r = 0; r < rows; r++) {
                long c = (base + (i0 + r) * ldc + j0) * 4;
                int j = 0;
                for (; j + L <= cols; j += L) storeVector(tile, r * NR + j, c + 4L * j, j0 + j, firstK);
                if (j < cols) storeMasked(tile, r * NR + j, c + 4L * j, j0 + j, firstK, F.indexInRange(j, cols));
            }
        }

        // one method per vector shape: with both in one method C2 compiled the unmasked path ~3x slower
        private void storeVector(float[] tile, int t, long c, int col, boolean firstK) {
            FloatVector v = FloatVector.fromArray(F, tile, t);
            if (alpha != 1f) v = v.mul(alpha);
            if (!firstK || beta != 0f) {
                FloatVector old = FloatVector.fromMemorySegment(F, seg, c, ORDER);
                v = !firstK || beta == 1f ? v.add(old) : old.mul(beta).add(v);
            }
            if (firstK && bias != null) v = v.add(FloatVector.fromArray(F, bias, col));
            v.intoMemorySegment(seg, c, ORDER);
        }

        private void storeMasked(float[] tile, int t, long c, int col, boolean firstK, VectorMask<Float> m) {
            FloatVector v = FloatVector.fromArray(F, tile, t);
            if (alpha != 1f) v = v.mul(alpha);
            if (!firstK || beta != 0f) {
                FloatVector old = FloatVector.fromMemorySegment(F, seg, c, ORDER, m);
                v = !firstK || beta == 1f ? v.add(old) : old.mul(beta).add(v);
            }
            if (firstK && bias != null) v = v.add(FloatVector.fromArray(F, bias, col, m));
            v.intoMemorySegment(seg, c, ORDER, m);
        }
    }

    static final class Array extends GemmOutput {
        private final float[] c;
        private final int base, ldc;
        private final float alpha, beta;

        Array(float[] c, int base, int ldc, float alpha, float beta) {
            this.c = c;
            this.base = base;
            this.ldc = ldc;
            this.alpha = alpha;
            this.beta = beta;
        }

        /** Whole tiles with alpha = 1 and beta 0 or 1 go straight from the kernel's registers to C. */
        @Override
        void multiply(int kc, float[] a, int aOff, float[] b, int bOff, float[] tile, int i0, int j0, int rows, int cols, boolean firstK) {
            if (rows == GemmKernel.MR && cols == NR && alpha == 1f && (!firstK || beta == 0f || beta == 1f)) {
                int at = base + i0 * ldc + j0;
                if (firstK && beta == 0f) GemmKernel.multiplyStore(kc, a, aOff, b, bOff, c, at, ldc);
                else GemmKernel.multiplyAdd(kc, a, aOff, b, bOff, c, at, ldc);
            } else {
                super.multiply(kc, a, aOff, b, bOff, tile, i0, j0, rows, cols, firstK);
            }
        }

        @Override
        void store(float[] tile, int i0, int j0, int rows, int cols, boolean firstK) {
            boolean readC = !firstK || beta != 0f;
            float cScale = firstK ? beta : 1f;
            for (int r = 0; r < rows; r++) {
                int row = base + (i0 + r) * ldc + j0;
                for (int j = 0; j < cols; j += L) {
                    VectorMask<Float> m = F.indexInRange(j, cols);
                    FloatVector v = FloatVector.fromArray(F, tile, r * NR + j);
                    if (alpha != 1f) v = v.mul(alpha);
                    if (readC) {
                        FloatVector old = FloatVector.fromArray(F, c, row + j, m);
                        v = cScale == 1f ? v.add(old) : old.mul(cScale).add(v);
                    }
                    v.intoArray(c, row + j, m);
                }
            }
        }
    }
}
