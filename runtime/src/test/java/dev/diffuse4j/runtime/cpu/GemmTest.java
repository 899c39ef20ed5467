package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * matmul, linear and sgemm against plain float64 references on fresh random inputs. The seed is
 * printed; rerun a failure with -Dd4j.test.seed=SEED.
 */
class GemmTest {
    static final double TOL = 1e-5;
    static long seed;
    static Random rnd;

    @BeforeAll
    static void seed() {
        seed = Long.getLong("d4j.test.seed", System.nanoTime());
        System.out.println("GemmTest seed " + seed);
        rnd = new Random(seed);
    }

    // ---------------------------------------------------------------- matmul

    @Test
    void oddSizesAllTransposes() {
        int[] sizes = {1, 7, 33, 77, 130, 257};
        for (int rep = 0; rep < 24; rep++) {
            int m = pick(sizes), n = pick(sizes), k = pick(sizes);
            boolean ta = rnd.nextBoolean(), tb = rnd.nextBoolean();
            checkMatmul(random(ta ? new int[]{k, m} : new int[]{m, k}), random(tb ? new int[]{n, k} : new int[]{k, n}), ta, tb);
        }
        for (int t = 0; t < 4; t++) {
            boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
            checkMatmul(random(ta ? new int[]{33, 77} : new int[]{77, 33}), random(tb ? new int[]{130, 33} : new int[]{33, 130}), ta, tb);
        }
    }

    @Test
    void largeEnoughToRunInParallelAndSplitDepth() {
        // 2*M*N*K well above the parallel threshold; K spans several depth blocks, N several column tasks
        checkMatmul(random(300, 1000), random(1000, 190), false, false);
        checkMatmul(random(9, 777), random(300, 777), false, true);
    }

    @Test
    void manyColumnBlocks() {
        // N beyond the column block (4096) so B is packed in several blocks
        checkMatmul(random(9, 20), random(20, 4200), false, false);
    }

    @Test
    void broadcastBatch() {
        checkMatmul(random(2, 1, 33, 17), random(3, 17, 40), false, false);
        checkMatmul(random(5, 33, 17), random(17, 9), false, false);
        checkMatmul(random(17, 33), random(4, 1, 9, 17), true, true);
        checkMatmul(random(6, 70, 64), random(6, 80, 64), false, true); // attention-like, parallel across batches
    }

    @Test
    void stridedAndPermutedViews() {
        Tensor big = random(3, 50, 40);
        Tensor a = big.permute(2, 0, 1).slice(0, 5, 36).select(1, 2); // [31, 50] with strides (1, 40)
        Tensor b = random(60, 3, 23).permute(1, 0, 2).slice(2, 1, 20); // [3, 60, 19] non-contiguous
        checkMatmul(a.slice(1, 0, 50), random(50, 19), false, false);
        checkMatmul(random(3, 7, 60), b, false, false);
        checkMatmul(random(4, 10, 12).transpose(1, 2), random(4, 10, 9), false, false); // A stored transposed
        Tensor every2 = random(40, 66).slice(1, 0, 65);
        checkMatmul(every2, random(65, 33), false, false);
    }

    @Test
    void halfPrecisionInputs() {
        for (DType dt : new DType[]{DType.F16, DType.BF16}) {
            checkMatmul(random(77, 130).contiguous(), Ops.cast(random(130, 33), dt), false, false);
            checkMatmul(Ops.cast(random(130, 77), dt), Ops.cast(random(33, 130), dt), true, true);
            checkMatmul(Ops.cast(random(2, 40, 31), dt).transpose(1, 2), random(40, 5), false, false);
        }
    }

    @Test
    void emptyAndZeroDepth() {
        Tensor z = Ops.matmul(random(5, 0), random(0, 7));
        assertArrayEquals0(z.toFloatArray(), 35);
        assertEquals(0, Ops.matmul(random(0, 4), random(4, 6)).numel());
        assertArrayEquals(new int[]{2, 0, 3}, Ops.matmul(random(2, 0, 4), random(4, 3)).shape());
    }

    @Test
    void matmulShapeErrorsNameOpAndShapes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.matmul(random(3, 4), random(5, 6)));
        assertTrue(e.getMessage().contains("matmul") && e.getMessage().contains("[3, 4]") && e.getMessage().contains("[5, 6]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ops.matmul(random(2, 3, 4), random(3, 4, 5)));
        assertTrue(e.getMessage().contains("matmul") && e.getMessage().contains("[2, 3, 4]") && e.getMessage().contains("broadcast"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ops.matmul(random(4), random(4, 5)));
        assertTrue(e.getMessage().contains("matmul") && e.getMessage().contains("rank"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ops.matmul(Tensor.zeros(DType.I32, 2, 2), random(2, 2)));
        assertTrue(e.getMessage().contains("matmul") && e.getMessage().contains("I32[2, 2]"), e.getMessage());
    }

    // ---------------------------------------------------------------- linear

    @Test
    void linearWeightsInEveryDtypeWithAndWithoutBias() {
        int[][] shapes = {{77, 320, 33}, {7, 33, 130}, {1, 257, 77}, {130, 65, 257}, {2, 4, 1, 9}};
        for (int[] s : shapes) {
            for (DType dt : new DType[]{DType.F32, DType.F16, DType.BF16}) {
                int in = s[s.length - 2], out = s[s.length - 1];
                int[] xs = Arrays.copyOf(s, s.length - 1);
                Tensor w = Ops.cast(random(out, in), dt);
                Tensor bias = rnd.nextBoolean() ? random(out) : null;
                checkLinear(random(xs), w, bias);
            }
        }
    }

    @Test
    void linearStridedInputsAndHalfActivations() {
        Tensor w = random(24, 40);
        checkLinear(random(40, 3, 10).permute(1, 2, 0), w, random(24));         // non-foldable rows: copied
        checkLinear(random(6, 50).slice(1, 5, 45), w, null);                    // row stride 50
        checkLinear(random(2, 9, 80).slice(2, 0, 40), Ops.cast(w, DType.BF16), random(24)); // 3-d with row stride
        checkLinear(Ops.cast(random(5, 40), DType.F16), Ops.cast(w, DType.F16), Ops.cast(random(24), DType.F16));
        checkLinear(random(40), w, random(24));                                  // rank-1 input
        checkLinear(random(3, 40), random(24, 80).slice(1, 0, 40), null);        // strided weight rows
    }

    @Test
    void linearLargeDepthAndParallel() {
        checkLinear(random(2, 150, 1100), Ops.cast(random(96, 1100), DType.F16), random(96));
    }

    @Test
    void linearShapeErrorsNameOpAndShapes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.linear(random(3, 5), random(4, 6), null));
        assertTrue(e.getMessage().contains("linear") && e.getMessage().contains("[3, 5]") && e.getMessage().contains("[4, 6]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ops.linear(random(3, 6), random(4, 6), random(5)));
        assertTrue(e.getMessage().contains("linear") && e.getMessage().contains("bias F32[5]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ops.linear(random(3, 6), random(2, 4, 6), null));
        assertTrue(e.getMessage().contains("linear") && e.getMessage().contains("[2, 4, 6]"), e.getMessage());
    }

    // ---------------------------------------------------------------- sgemm

    @Test
    void sgemmOnArraysWithOffsetsLeadingDimsAlphaBeta() {
        for (int rep = 0; rep < 18; rep++) {
            boolean ta = rnd.nextBoolean(), tb = rnd.nextBoolean();
            int m = 1 + rnd.nextInt(70), n = 1 + rnd.nextInt(70), k = rnd.nextInt(500);
            int lda = (ta ? m : k) + rnd.nextInt(5), ldb = (tb ? k : n) + rnd.nextInt(5), ldc = n + rnd.nextInt(5);
            int aOff = rnd.nextInt(9), bOff = rnd.nextInt(9), cOff = rnd.nextInt(9);
            float[] a = randomArray(aOff + (ta ? k : m) * lda), b = randomArray(bOff + (tb ? n : k) * ldb), c = randomArray(cOff + m * ldc);
            // alpha = 1 with beta 0 or 1 takes the direct register-to-C kernels on whole tiles
            float alpha = rep % 2 == 0 ? 1f : rnd.nextFloat() * 2 - 1;
            float beta = rep % 3 == 0 ? 0f : rep % 3 == 1 ? 1f : rnd.nextFloat() * 2 - 1;
            if (beta == 0f) for (int i = 0; i < m; i++) c[cOff + i * ldc] = Float.NaN; // beta = 0 must ignore C
            double[] ref = new double[m * n];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                        s += (double) a[aOff + (ta ? p * lda + i : i * lda + p)] * b[bOff + (tb ? j * ldb + p : p * ldb + j)];
                    ref[i * n + j] = alpha * s + (beta == 0f ? 0 : (double) beta * c[cOff + i * ldc + j]);
                }
            float[] before = c.clone();
            Gemm.sgemm(ta, tb, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            float[] got = new float[m * n];
            for (int i = 0; i < m; i++) System.arraycopy(c, cOff + i * ldc, got, i * n, n);
            assertClose(ref, got, "sgemm " + m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb, seed);
            for (int i = 0; i < c.length; i++) {
                int row = (i - cOff) / ldc, col = (i - cOff) % ldc;
                boolean inside = i >= cOff && row < m && col < n;
                if (!inside) assertEquals(Float.floatToRawIntBits(before[i]), Float.floatToRawIntBits(c[i]), "sgemm wrote outside C at " + i);
            }
        }
    }

    @Test
    void sgemmOnSegments() {
        int m = 37, n = 45, k = 29;
        try (Arena arena = Arena.ofConfined()) {
            float[] a = randomArray(k * m), b = randomArray(n * k);
            MemorySegment sa = arena.allocate(4L * a.length), sb = arena.allocate(4L * b.length), sc = arena.allocate(4L * (m * n + 3));
            MemorySegment.copy(a, 0, sa, ValueLayout.JAVA_FLOAT, 0, a.length);
            MemorySegment.copy(b, 0, sb, ValueLayout.JAVA_FLOAT, 0, b.length);
            Gemm.sgemm(true, true, m, n, k, 1f, sa, 0, m, sb, 0, k, 0f, sc, 3, n);
            double[] ref = new double[m * n];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    for (int p = 0; p < k; p++) ref[i * n + j] += (double) a[p * m + i] * b[j * k + p];
            float[] got = new float[m * n];
            MemorySegment.copy(sc, ValueLayout.JAVA_FLOAT, 12, got, 0, m * n);
            assertClose(ref, got, "sgemm on segments", seed);
        }
    }

    @Test
    void sgemmOnSegmentsAccumulates() {
        // alpha = 1, beta = 1 with whole 8x32 tiles: the direct register-to-C path adds to C
        int m = 40, n = 70, k = 400;
        try (Arena arena = Arena.ofConfined()) {
            float[] a = randomArray(m * k), b = randomArray(k * n), c = randomArray(m * n);
            MemorySegment sa = arena.allocate(4L * a.length), sb = arena.allocate(4L * b.length), sc = arena.allocate(4L * c.length);
            MemorySegment.copy(a, 0, sa, ValueLayout.JAVA_FLOAT, 0, a.length);
            MemorySegment.copy(b, 0, sb, ValueLayout.JAVA_FLOAT, 0, b.length);
            MemorySegment.copy(c, 0, sc, ValueLayout.JAVA_FLOAT, 0, c.length);
            Gemm.sgemm(false, false, m, n, k, 1f, sa, 0, k, sb, 0, n, 1f, sc, 0, n);
            double[] ref = new double[m * n];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = c[i * n + j];
                    for (int p = 0; p < k; p++) s += (double) a[i * k + p] * b[p * n + j];
                    ref[i * n + j] = s;
                }
            float[] got = new float[m * n];
            MemorySegment.copy(sc, ValueLayout.JAVA_FLOAT, 0, got, 0, m * n);
            assertClose(ref, got, "sgemm on segments, beta = 1", seed);
        }
    }

    @Test
    void sgemmRejectsBadExtents() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.sgemm(false, false, 4, 4, 4, 1f, new float[15], 0, 4, new float[16], 0, 4, 0f, new float[16], 0, 4));
        assertTrue(e.getMessage().contains("sgemm") && e.getMessage().contains("A needs"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.sgemm(false, true, 4, 4, 4, 1f, new float[16], 0, 4, new float[16], 0, 3, 0f, new float[16], 0, 4));
        assertTrue(e.getMessage().contains("leading dimension"), e.getMessage());
    }

    // ---------------------------------------------------------------- references and helpers

    void checkMatmul(Tensor a, Tensor b, boolean ta, boolean tb) {
        Tensor c = Gemm.matmul(a, b, ta, tb); // F32 result (Ops rounds half inputs: HalfStorageTest)
        int[] as = a.shape(), bs = b.shape();
        int m = ta ? as[as.length - 1] : as[as.length - 2], k = ta ? as[as.length - 2] : as[as.length - 1];
        int n = tb ? bs[bs.length - 2] : bs[bs.length - 1];
        int[] cs = c.shape();
        assertEquals(m, cs[cs.length - 2]);
        assertEquals(n, cs[cs.length - 1]);
        assertEquals(DType.F32, c.dtype());
        assertTrue(c.isContiguous());
        long batches = c.numel() / Math.max(1, (long) m * n);
        double[] ref = new double[(int) c.numel()];
        float[] af = a.toFloatArray(), bf = b.toFloatArray();
        int rank = cs.length;
        for (long bi = 0; bi < batches; bi++) {
            int[] idx = unravel(bi, Arrays.copyOf(cs, rank - 2));
            long ao = broadcastIndex(idx, Arrays.copyOf(as, as.length - 2)) * (long) m * k;
            long bo = broadcastIndex(idx, Arrays.copyOf(bs, bs.length - 2)) * (long) k * n;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                        s += (double) af[(int) ao + (ta ? p * m + i : i * k + p)] * bf[(int) bo + (tb ? j * k + p : p * n + j)];
                    ref[(int) (bi * m * n) + i * n + j] = s;
                }
        }
        assertClose(ref, c.toFloatArray(), "matmul " + a.describe() + (ta ? "^T" : "") + " x " + b.describe() + (tb ? "^T" : ""), seed);
    }

    void checkLinear(Tensor x, Tensor w, Tensor bias) {
        Tensor y = Gemm.linear(x, w, bias);
        int out = w.dim(0), in = w.dim(1);
        int[] expected = x.shape();
        expected[expected.length - 1] = out;
        assertArrayEquals(expected, y.shape());
        float[] xf = x.toFloatArray(), wf = w.toFloatArray(), bf = bias == null ? null : bias.toFloatArray();
        int rows = xf.length / in;
        double[] ref = new double[rows * out];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++) {
                double s = bf == null ? 0 : bf[o];
                for (int i = 0; i < in; i++) s += (double) xf[r * in + i] * wf[o * in + i];
                ref[r * out + o] = s;
            }
        assertClose(ref, y.toFloatArray(), "linear " + x.describe() + " w " + w.describe() + (bias == null ? "" : " + bias"), seed);
    }

    static void assertClose(double[] ref, float[] got, String what, long seed) {
        assertEquals(ref.length, got.length, what + ": length");
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            assertTrue(Float.isFinite(got[i]), what + ": non-finite value at " + i + " (seed " + seed + ")");
            double d = got[i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        double rel = Math.sqrt(num / Math.max(den, 1e-30));
        assertTrue(rel < TOL, what + ": relative L2 error " + rel + " (seed " + seed + ")");
    }

    static void assertArrayEquals(int[] a, int[] b) { assertEquals(Arrays.toString(a), Arrays.toString(b)); }

    static void assertArrayEquals0(float[] a, int n) {
        assertEquals(n, a.length);
        for (float v : a) assertEquals(0f, v);
    }

    static int[] unravel(long i, int[] shape) {
        int[] idx = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = (int) (i % shape[d]);
            i /= shape[d];
        }
        return idx;
    }

    /** Flat index into a batch of shape {@code own} for the broadcast index {@code idx} (right-aligned). */
    static long broadcastIndex(int[] idx, int[] own) {
        long flat = 0;
        int off = idx.length - own.length;
        for (int d = 0; d < own.length; d++) flat = flat * own[d] + (own[d] == 1 ? 0 : idx[d + off]);
        return flat;
    }

    static int pick(int[] xs) { return xs[rnd.nextInt(xs.length)]; }

    static float[] randomArray(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = rnd.nextFloat() * 2 - 1;
        return a;
    }

    static Tensor random(int... shape) {
        long n = 1;
        for (int s : shape) n *= s;
        return Tensor.of(randomArray((int) n), shape);
    }
}
