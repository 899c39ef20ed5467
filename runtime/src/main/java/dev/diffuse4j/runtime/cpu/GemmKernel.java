package dev.diffuse4j.runtime.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register-blocked GEMM micro-kernel: one {@link #MR} x {@link #NR} tile of C from a packed A
 * panel ({@code a[k*MR + r]}, row r of the tile) and a packed B panel ({@code b[k*NR + j]}).
 *
 * <p>With 512-bit vectors the tile is 8 x 32: 16 accumulators, two B vectors and one broadcast
 * live in 19 of the 32 zmm registers, so C2 keeps everything in registers, and each k step issues
 * 16 FMAs against 2 vector loads and 8 broadcast loads, which keeps the FMA pipes the bottleneck.
 * 12 x 32 and 4 x 64 run at the same speed on Zen 4 in isolation; 8 x 32 wastes less on the small
 * M edges the models have (77 text tokens) and makes the A transpose an 8-row one.
 */
final class GemmKernel {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** Rows of the tile (broadcast side). */
    static final int MR = 8;
    /** Columns of the tile: two vectors. */
    static final int NR = 2 * L;

    private GemmKernel() {}

    /**
     * tile[r*NR + j] = sum_k a[aOff + k*MR + r] * b[bOff + k*NR + j] for r < MR, j < NR.
     */
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
        c00.intoArray(tile, 0);          c01.intoArray(tile, L);
        c10.intoArray(tile, NR);         c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);     c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);     c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);     c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);     c51.intoArray(tile, 5 * NR + L);
        c60.intoArray(tile, 6 * NR);     c61.intoArray(tile, 6 * NR + L);
        c70.intoArray(tile, 7 * NR);     c71.intoArray(tile, 7 * NR + L);
    }
}
