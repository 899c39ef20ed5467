package dev.diffuse4j.schedulers.noise;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.diffuse4j.runtime.Tensor;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class PhiloxGaussianTest {
    private static final int N = 1_000_000;

    @Test
    void blockFunctionMatchesRandom123KnownAnswers() {
        // Random123 tests/kat_vectors for philox4x32_10, as quoted in tensorflow/tensorflow
        // tensorflow/compiler/tests/stateful_random_ops_test.py (testPhilox4x32).
        assertBlock(new int[]{0, 0, 0, 0}, new int[]{0, 0}, new int[]{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
        assertBlock(new int[]{-1, -1, -1, -1}, new int[]{-1, -1}, new int[]{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
        assertBlock(new int[]{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, new int[]{0xa4093822, 0x299f31d0},
                new int[]{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
    }

    @Test
    void sampleIsBoxMullerOfTheDocumentedPhiloxWords() {
        // The definition in the class javadoc, evaluated independently for a few (seed, index) pairs.
        long[] seeds = {0, 42, 0x1234_5678_9abc_def0L, -1};
        long[] indices = {0, 1, 2, 3, 4, 1L << 33};
        int[] w = new int[4];
        for (long seed : seeds)
            for (long i : indices) {
                long b = i / 4;
                Philox4x32.block((int) b, (int) (b >>> 32), 0, 0, (int) seed, (int) (seed >>> 32), w);
                int lane = (int) (i % 4);
                long a = Integer.toUnsignedLong(w[lane < 2 ? 0 : 2]), c = Integer.toUnsignedLong(w[lane < 2 ? 1 : 3]);
                double r = Math.sqrt(-2 * Math.log((a + 1) / 4294967296.0));
                double theta = 2 * Math.PI * (c / 4294967296.0);
                double z = lane % 2 == 0 ? r * Math.cos(theta) : r * Math.sin(theta);
                assertEquals(z, PhiloxGaussian.sample(seed, i), 1e-6, "seed " + seed + " index " + i);
            }
    }

    @Test
    void elementDependsOnlyOnSeedAndIndex() throws Exception {
        float[] whole = PhiloxGaussian.seeded(7).next(10_007);
        // arbitrary chunking of one stream
        PhiloxGaussian stream = PhiloxGaussian.seeded(7);
        float[] chunked = new float[whole.length];
        int[] sizes = {1, 2, 3, 5, 16, 999, 4, 7, 8000};
        int at = 0;
        for (int s : sizes) { stream.fill(chunked, at, s); at += s; }
        stream.fill(chunked, at, whole.length - at);
        assertArrayEquals(whole, chunked);
        // windows read directly, from several threads at once
        float[] parallel = new float[whole.length];
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            Future<?>[] parts = new Future<?>[4];
            int per = (whole.length + 3) / 4;
            for (int t = 0; t < 4; t++) {
                int start = t * per, len = Math.min(per, whole.length - start);
                parts[t] = pool.submit(() -> PhiloxGaussian.fill(7, start, parallel, start, len));
            }
            for (Future<?> f : parts) f.get();
        }
        assertArrayEquals(whole, parallel);
        assertArrayEquals(Arrays.copyOfRange(whole, 5000, 5100), PhiloxGaussian.at(7, 5000).next(100));
        assertArrayEquals(whole, PhiloxGaussian.seeded(7).next(whole.length), "same seed, same values");
    }

    @Test
    void millionSamplesLookStandardNormal() {
        float[] z = PhiloxGaussian.seeded(20240601).next(N);
        double mean = 0, m2 = 0, m3 = 0, m4 = 0, beyond196 = 0, maxAbs = 0;
        for (float v : z) mean += v;
        mean /= N;
        for (float v : z) {
            double d = v - mean, d2 = d * d;
            m2 += d2; m3 += d2 * d; m4 += d2 * d2;
            if (Math.abs(v) > 1.959964) beyond196++;
            maxAbs = Math.max(maxAbs, Math.abs(v));
        }
        m2 /= N; m3 /= N; m4 /= N;
        double skew = m3 / Math.pow(m2, 1.5), exKurt = m4 / (m2 * m2) - 3;
        // five standard errors each
        assertEquals(0, mean, 5 / Math.sqrt(N), "mean");
        assertEquals(1, m2, 5 * Math.sqrt(2.0 / N), "variance");
        assertEquals(0, skew, 5 * Math.sqrt(6.0 / N), "skewness");
        assertEquals(0, exKurt, 5 * Math.sqrt(24.0 / N), "excess kurtosis");
        assertEquals(0.05, beyond196 / N, 5 * Math.sqrt(0.05 * 0.95 / N), "two-sided 5% tail mass");
        assertTrue(maxAbs <= Math.sqrt(64 * Math.log(2)) + 1e-6, "32-bit uniforms bound |z| by 6.66, got " + maxAbs);

        // Kolmogorov-Smirnov against the normal CDF; 1.95/sqrt(n) is the 0.1% critical value.
        float[] sorted = z.clone();
        Arrays.sort(sorted);
        double d = 0;
        for (int i = 0; i < N; i++) {
            double f = normalCdf(sorted[i]);
            d = Math.max(d, Math.max(Math.abs(f - (double) i / N), Math.abs((double) (i + 1) / N - f)));
        }
        assertTrue(d < 1.95 / Math.sqrt(N), "KS distance " + d);
    }

    @Test
    void differentSeedsAndNeighbouringSamplesAreUncorrelated() {
        float[] a = PhiloxGaussian.seeded(1).next(N);
        long[] others = {2, 0, 1L << 32, 1 | (1L << 32), -1};
        double bound = 5 / Math.sqrt(N);
        for (long s : others) {
            float[] b = PhiloxGaussian.seeded(s).next(N);
            assertEquals(0, correlation(a, 0, b, 0, N), bound, "seed 1 vs seed " + s);
        }
        for (int lag : new int[]{1, 2, 3, 4, 5, 8}) assertEquals(0, correlation(a, 0, a, lag, N - lag), bound, "lag " + lag);
        // the sin/cos halves of a Box-Muller pair are uncorrelated but dependent: their squares must not be
        double[] x = new double[N / 2], y = new double[N / 2];
        for (int i = 0; i < N / 2; i++) { x[i] = a[2 * i] * a[2 * i]; y[i] = a[2 * i + 1] * a[2 * i + 1]; }
        assertEquals(0, correlation(x, y), 5 / Math.sqrt(N / 2.0), "squares of a Box-Muller pair");
    }

    @Test
    void nchwDrawIsPermutedToNhwc() {
        Tensor t = PhiloxGaussian.seeded(3).randnNchwAsNhwc(2, 4, 3, 5);
        float[] nchw = PhiloxGaussian.seeded(3).next(2 * 4 * 3 * 5);
        assertArrayEquals(new int[]{2, 3, 5, 4}, t.shape());
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 4; c++)
                for (int y = 0; y < 3; y++)
                    for (int x = 0; x < 5; x++)
                        assertEquals(nchw[((n * 4 + c) * 3 + y) * 5 + x], t.getFloat(((n * 3 + y) * 5 + x) * 4 + c));
        t.close();
    }

    // ------------------------------------------------------------------ helpers

    private static void assertBlock(int[] ctr, int[] key, int[] expected) {
        int[] out = new int[4];
        Philox4x32.block(ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1], out);
        assertArrayEquals(expected, out);
    }

    private static double correlation(float[] a, int ao, float[] b, int bo, int n) {
        double[] x = new double[n], y = new double[n];
        for (int i = 0; i < n; i++) { x[i] = a[ao + i]; y[i] = b[bo + i]; }
        return correlation(x, y);
    }

    private static double correlation(double[] x, double[] y) {
        int n = x.length;
        double mx = 0, my = 0;
        for (int i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
        mx /= n; my /= n;
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++) {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
        }
        return sxy / Math.sqrt(sxx * syy);
    }

    /** Phi(x) = erfc(-x / sqrt 2) / 2 with the Chebyshev-fitted erfc of Numerical Recipes (relative error < 1.2e-7). */
    private static double normalCdf(double x) {
        double z = -x / Math.sqrt(2), t = 1 / (1 + 0.5 * Math.abs(z));
        double erfc = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return 0.5 * (z >= 0 ? erfc : 2 - erfc);
    }
}
