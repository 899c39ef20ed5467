package dev.diffuse4j.runtime.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Where GEMM tiles go, and the fused epilogue: C = alpha * AB + beta * C + bias[j] + residual[i][j]
 * on the first k-block, C += alpha * AB on later ones. C(i, j) lives at element
 * {@code base + i*ldc + j} of a host segment (F32) or a float array; the residual, when present, is
 * an F32 segment laid out the same way with its own base and leading dimension. beta = 0 never
 * reads C, so C may start as garbage.
 */
final class GemmOutput {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final int NR = GemmKernel.NR;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private final MemorySegment seg;
    private final float[] arr;
    private final long base, ldc;
    private final float alpha, beta;
    private final float[] bias;
    private final MemorySegment res;
    private final long resBase, resLd;

    private GemmOutput(MemorySegment seg, float[] arr, long base, long ldc, float alpha, float beta,
                       float[] bias, MemorySegment res, long resBase, long resLd) {
        this.seg = seg;
        this.arr = arr;
        this.base = base;
        this.ldc = ldc;
        this.alpha = alpha;
        this.beta = beta;
        this.bias = bias;
        this.res = res;
        this.resBase = resBase;
        this.resLd = resLd;
    }

    /** C = AB + bias[j] (bias may be null) + residual (an F32 segment, or null), C in an F32 segment. */
    static GemmOutput fused(MemorySegment c, long base, long ldc, float[] bias, MemorySegment res, long resBase, long resLd) {
        return new GemmOutput(c, null, base, ldc, 1f, 0f, bias, res, resBase, resLd);
    }

    /** C = alpha AB + beta C, C in an F32 segment. */
    static GemmOutput segment(MemorySegment c, long base, long ldc, float alpha, float beta) {
        return new GemmOutput(c, null, base, ldc, alpha, beta, null, null, 0, 0);
    }

    /** C = alpha AB + beta C, C in a float array. */
    static GemmOutput array(float[] c, int base, int ldc, float alpha, float beta) {
        return new GemmOutput(null, c, base, ldc, alpha, beta, null, null, 0, 0);
    }

    /** Writes rows x cols of {@code tile} (row stride NR) to C at (i0, j0). */
    void store(float[] tile, int i0, int j0, int rows, int cols, boolean firstK) {
        for (int r = 0; r < rows; r++) {
            long c = base + (i0 + r) * ldc + j0;
            long rr = resBase + (i0 + r) * resLd + j0;
            for (int j = 0; j < cols; j += L) {
                int t = r * NR + j;
                if (j + L <= cols) storeFull(tile, t, c + j, rr + j, j0 + j, firstK);
                else storeMasked(tile, t, c + j, rr + j, j0 + j, firstK, F.indexInRange(j, cols));
            }
        }
    }

    private void storeFull(float[] tile, int t, long c, long rr, int col, boolean firstK) {
        FloatVector v = FloatVector.fromArray(F, tile, t);
        if (alpha != 1f) v = v.mul(alpha);
        if (firstK) {
            if (beta != 0f) v = loadC(c).mul(beta).add(v);
            if (bias != null) v = v.add(FloatVector.fromArray(F, bias, col));
            if (res != null) v = v.add(FloatVector.fromMemorySegment(F, res, rr * 4, ORDER));
        } else {
            v = v.add(loadC(c));
        }
        if (arr != null) v.intoArray(arr, (int) c);
        else v.intoMemorySegment(seg, c * 4, ORDER);
    }

    private void storeMasked(float[] tile, int t, long c, long rr, int col, boolean firstK, VectorMask<Float> m) {
        FloatVector v = FloatVector.fromArray(F, tile, t);
        if (alpha != 1f) v = v.mul(alpha);
        if (firstK) {
            if (beta != 0f) v = loadC(c, m).mul(beta).add(v);
            if (bias != null) v = v.add(FloatVector.fromArray(F, bias, col, m));
            if (res != null) v = v.add(FloatVector.fromMemorySegment(F, res, rr * 4, ORDER, m));
        } else {
            v = v.add(loadC(c, m));
        }
        if (arr != null) v.intoArray(arr, (int) c, m);
        else v.intoMemorySegment(seg, c * 4, ORDER, m);
    }

    private FloatVector loadC(long c) {
        return arr != null ? FloatVector.fromArray(F, arr, (int) c) : FloatVector.fromMemorySegment(F, seg, c * 4, ORDER);
    }

    private FloatVector loadC(long c, VectorMask<Float> m) {
        return arr != null ? FloatVector.fromArray(F, arr, (int) c, m) : FloatVector.fromMemorySegment(F, seg, c * 4, ORDER, m);
    }
}
