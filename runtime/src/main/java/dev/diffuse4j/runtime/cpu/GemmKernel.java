package dev.diffuse4j.runtime.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The register-blocked GEMM micro-kernel: one {@link #MR} x {@link #NR} tile of C from a packed A
 * panel ({@code a[k*MR + r]}, row r of the tile) and a packed B panel ({@code b[k*NR + j]}).
 *
 * <p>With 512-bit vectors the tile is 8 x 32: 16 accumulators, two B vectors and one broadcast
 * need 19 of the 32 zmm registers, and each k step issues 16 FMAs against 2 vector loads and 8
 * broadcast loads, so the FMA pipes are the bottleneck. In isolation it runs at ~95% of the
 * FMA-loop peak on Zen 4 (no hsdis here to read the code; spills would not allow that). 12 x 32
 * and 4 x 64 measured the same; 8 x 32 wastes less on the small M edges the models have (77 text
 * tokens -> 80 rows) and makes the A transpose an 8-row one.
 *
 * <p>The entry points share the loop: {@link #multiply} into a tile array (edge tiles and the
 * general epilogue), and multiplyStore / multiplyAdd (C in a segment or an array), which write
 * whole tiles straight from the accumulators into C (a tile round trip cost ~10%). Each is kept
 * small and written out in full. A bigger method made C1 give up ("out of virtual registers"),
 * and the tiered policy then sometimes left it in unprofiled C1 code, where the Vector API runs
 * ~70x slower; and a helper taking or returning vectors that C2 does not inline boxes them.
 */
final class GemmKernel {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** Rows of the tile (broadcast side). */
    static final int MR = 8;
    /** Columns of the tile: two vectors. */
    static final int NR = 2 * L;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /** Bytes of one vector. */
    private static final long W = 4L * L;

    private GemmKernel() {}

    /** tile[r*NR + j] = sum_k a[aOff + k*MR + r] * b[bOff + k*NR + j] for r < MR, j < NR. */
    static void multiply(int kc, float[] a, int aOff, float[] b, int bOff, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int k = 0; k < kc; k++) {
            int bo = bOff + k * NR, ao = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(F, b, bo), b1 = FloatVector.fromArray(F, b, bo + L);
            FloatVector x;
            x = FloatVector.broadcast(F, a[ao]);     c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[ao + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[ao + 2]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[ao + 3]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[ao + 4]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[ao + 5]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(F, a[ao + 6]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(F, a[ao + 7]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
        }
        c00.intoArray(tile, 0 * NR); c01.intoArray(tile, 0 * NR + L);
        c10.intoArray(tile, 1 * NR); c11.intoArray(tile, 1 * NR + L);
        c20.intoArray(tile, 2 * NR); c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR); c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR); c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR); c51.intoArray(tile, 5 * NR + L);
        c60.intoArray(tile, 6 * NR); c61.intoArray(tile, 6 * NR + L);
        c70.intoArray(tile, 7 * NR); c71.intoArray(tile, 7 * NR + L);
    }

    /**
     * C = the MR x NR tile (+ bias[biasOff + j] when {@code bias} is not null), straight from the
     * accumulators into an F32 segment; C row r starts at byte {@code cOff + r*ldc}.
     */
    static void multiplyStore(int kc, float[] a, int aOff, float[] b, int bOff, MemorySegment c, long cOff, long ldc,
                              float[] bias, int biasOff) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int k = 0; k < kc; k++) {
            int bo = bOff + k * NR, ao = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(F, b, bo), b1 = FloatVector.fromArray(F, b, bo + L);
            FloatVector x;
            x = FloatVector.broadcast(F, a[ao]);     c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[ao + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[ao + 2]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[ao + 3]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[ao + 4]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[ao + 5]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(F, a[ao + 6]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(F, a[ao + 7]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
        }
        long o0 = cOff, o1 = o0 + ldc, o2 = o1 + ldc, o3 = o2 + ldc, o4 = o3 + ldc, o5 = o4 + ldc, o6 = o5 + ldc, o7 = o6 + ldc;
        if (bias != null) {
            FloatVector d0 = FloatVector.fromArray(F, bias, biasOff), d1 = FloatVector.fromArray(F, bias, biasOff + L);
            c00 = c00.add(d0); c01 = c01.add(d1); c10 = c10.add(d0); c11 = c11.add(d1);
            c20 = c20.add(d0); c21 = c21.add(d1); c30 = c30.add(d0); c31 = c31.add(d1);
            c40 = c40.add(d0); c41 = c41.add(d1); c50 = c50.add(d0); c51 = c51.add(d1);
            c60 = c60.add(d0); c61 = c61.add(d1); c70 = c70.add(d0); c71 = c71.add(d1);
        }
        c00.intoMemorySegment(c, o0, ORDER); c01.intoMemorySegment(c, o0 + W, ORDER);
        c10.intoMemorySegment(c, o1, ORDER); c11.intoMemorySegment(c, o1 + W, ORDER);
        c20.intoMemorySegment(c, o2, ORDER); c21.intoMemorySegment(c, o2 + W, ORDER);
        c30.intoMemorySegment(c, o3, ORDER); c31.intoMemorySegment(c, o3 + W, ORDER);
        c40.intoMemorySegment(c, o4, ORDER); c41.intoMemorySegment(c, o4 + W, ORDER);
        c50.intoMemorySegment(c, o5, ORDER); c51.intoMemorySegment(c, o5 + W, ORDER);
        c60.intoMemorySegment(c, o6, ORDER); c61.intoMemorySegment(c, o6 + W, ORDER);
        c70.intoMemorySegment(c, o7, ORDER); c71.intoMemorySegment(c, o7 + W, ORDER);
    }

    /** C += the MR x NR tile, straight from the accumulators; C row r starts at byte {@code cOff + r*ldc}. */
    static void multiplyAdd(int kc, float[] a, int aOff, float[] b, int bOff, MemorySegment c, long cOff, long ldc) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int k = 0; k < kc; k++) {
            int bo = bOff + k * NR, ao = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(F, b, bo), b1 = FloatVector.fromArray(F, b, bo + L);
            FloatVector x;
            x = FloatVector.broadcast(F, a[ao]);     c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[ao + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[ao + 2]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[ao + 3]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[ao + 4]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[ao + 5]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(F, a[ao + 6]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(F, a[ao + 7]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
        }
        long o0 = cOff, o1 = o0 + ldc, o2 = o1 + ldc, o3 = o2 + ldc, o4 = o3 + ldc, o5 = o4 + ldc, o6 = o5 + ldc, o7 = o6 + ldc;
        c00.add(FloatVector.fromMemorySegment(F, c, o0, ORDER)).intoMemorySegment(c, o0, ORDER);
        c01.add(FloatVector.fromMemorySegment(F, c, o0 + W, ORDER)).intoMemorySegment(c, o0 + W, ORDER);
        c10.add(FloatVector.fromMemorySegment(F, c, o1, ORDER)).intoMemorySegment(c, o1, ORDER);
        c11.add(FloatVector.fromMemorySegment(F, c, o1 + W, ORDER)).intoMemorySegment(c, o1 + W, ORDER);
        c20.add(FloatVector.fromMemorySegment(F, c, o2, ORDER)).intoMemorySegment(c, o2, ORDER);
        c21.add(FloatVector.fromMemorySegment(F, c, o2 + W, ORDER)).intoMemorySegment(c, o2 + W, ORDER);
        c30.add(FloatVector.fromMemorySegment(F, c, o3, ORDER)).intoMemorySegment(c, o3, ORDER);
        c31.add(FloatVector.fromMemorySegment(F, c, o3 + W, ORDER)).intoMemorySegment(c, o3 + W, ORDER);
        c40.add(FloatVector.fromMemorySegment(F, c, o4, ORDER)).intoMemorySegment(c, o4, ORDER);
        c41.add(FloatVector.fromMemorySegment(F, c, o4 + W, ORDER)).intoMemorySegment(c, o4 + W, ORDER);
        c50.add(FloatVector.fromMemorySegment(F, c, o5, ORDER)).intoMemorySegment(c, o5, ORDER);
        c51.add(FloatVector.fromMemorySegment(F, c, o5 + W, ORDER)).intoMemorySegment(c, o5 + W, ORDER);
        c60.add(FloatVector.fromMemorySegment(F, c, o6, ORDER)).intoMemorySegment(c, o6, ORDER);
        c61.add(FloatVector.fromMemorySegment(F, c, o6 + W, ORDER)).intoMemorySegment(c, o6 + W, ORDER);
        c70.add(FloatVector.fromMemorySegment(F, c, o7, ORDER)).intoMemorySegment(c, o7, ORDER);
        c71.add(FloatVector.fromMemorySegment(F, c, o7 + W, ORDER)).intoMemorySegment(c, o7 + W, ORDER);
    }

    /** C = the MR x NR tile, straight from the accumulators into a float array; C row r starts at {@code cOff + r*ldc}. */
    static void multiplyStore(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int k = 0; k < kc; k++) {
            int bo = bOff + k * NR, ao = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(F, b, bo), b1 = FloatVector.fromArray(F, b, bo + L);
            FloatVector x;
            x = FloatVector.broadcast(F, a[ao]);     c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[ao + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[ao + 2]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[ao + 3]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[ao + 4]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[ao + 5]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(F, a[ao + 6]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(F, a[ao + 7]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
        }
        int o0 = cOff, o1 = o0 + ldc, o2 = o1 + ldc, o3 = o2 + ldc, o4 = o3 + ldc, o5 = o4 + ldc, o6 = o5 + ldc, o7 = o6 + ldc;
        c00.intoArray(c, o0); c01.intoArray(c, o0 + L);
        c10.intoArray(c, o1); c11.intoArray(c, o1 + L);
        c20.intoArray(c, o2); c21.intoArray(c, o2 + L);
        c30.intoArray(c, o3); c31.intoArray(c, o3 + L);
        c40.intoArray(c, o4); c41.intoArray(c, o4 + L);
        c50.intoArray(c, o5); c51.intoArray(c, o5 + L);
        c60.intoArray(c, o6); c61.intoArray(c, o6 + L);
        c70.intoArray(c, o7); c71.intoArray(c, o7 + L);
    }

    /** C += the MR x NR tile, straight from the accumulators into a float array. */
    static void multiplyAdd(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int k = 0; k < kc; k++) {
            int bo = bOff + k * NR, ao = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(F, b, bo), b1 = FloatVector.fromArray(F, b, bo + L);
            FloatVector x;
            x = FloatVector.broadcast(F, a[ao]);     c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[ao + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[ao + 2]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[ao + 3]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[ao + 4]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[ao + 5]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(F, a[ao + 6]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(F, a[ao + 7]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
        }
        int o0 = cOff, o1 = o0 + ldc, o2 = o1 + ldc, o3 = o2 + ldc, o4 = o3 + ldc, o5 = o4 + ldc, o6 = o5 + ldc, o7 = o6 + ldc;
        c00.add(FloatVector.fromArray(F, c, o0)).intoArray(c, o0); c01.add(FloatVector.fromArray(F, c, o0 + L)).intoArray(c, o0 + L);
        c10.add(FloatVector.fromArray(F, c, o1)).intoArray(c, o1); c11.add(FloatVector.fromArray(F, c, o1 + L)).intoArray(c, o1 + L);
        c20.add(FloatVector.fromArray(F, c, o2)).intoArray(c, o2); c21.add(FloatVector.fromArray(F, c, o2 + L)).intoArray(c, o2 + L);
        c30.add(FloatVector.fromArray(F, c, o3)).intoArray(c, o3); c31.add(FloatVector.fromArray(F, c, o3 + L)).intoArray(c, o3 + L);
        c40.add(FloatVector.fromArray(F, c, o4)).intoArray(c, o4); c41.add(FloatVector.fromArray(F, c, o4 + L)).intoArray(c, o4 + L);
        c50.add(FloatVector.fromArray(F, c, o5)).intoArray(c, o5); c51.add(FloatVector.fromArray(F, c, o5 + L)).intoArray(c, o5 + L);
        c60.add(FloatVector.fromArray(F, c, o6)).intoArray(c, o6); c61.add(FloatVector.fromArray(F, c, o6 + L)).intoArray(c, o6 + L);
        c70.add(FloatVector.fromArray(F, c, o7)).intoArray(c, o7); c71.add(FloatVector.fromArray(F, c, o7 + L)).intoArray(c, o7 + L);
    }
}
