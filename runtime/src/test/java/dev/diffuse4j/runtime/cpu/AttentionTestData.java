package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.fail;

/** Random inputs and comparisons shared by the attention tests. */
final class AttentionTestData {
    private AttentionTestData() {}

    /** A fresh seed per run (or -Dd4j.seed=N to replay one), printed so a failure can be reproduced. */
    static Random random(String test) {
        long seed = Long.getLong("d4j.seed", System.nanoTime());
        System.out.println(test + ": seed " + seed + " (replay with -Dd4j.seed=" + seed + ")");
        return new Random(seed);
    }

    static Tensor randn(Random r, float sigma, int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * sigma);
        return Tensor.of(a, shape);
    }

    /** The same values with the given dtype (rounded). */
    static Tensor as(Tensor x, DType dtype) { return CpuBackend.INSTANCE.cast(x, dtype); }

    /** |actual - expected| <= atol + rtol * |expected| everywhere. */
    static void assertClose(double[] expected, float[] actual, double atol, double rtol, String what) {
        if (expected.length != actual.length) fail(what + ": " + actual.length + " values, expected " + expected.length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(actual[i] - expected[i]) - rtol * Math.abs(expected[i]);
            if (!(err <= atol) && (at < 0 || !(err <= worst))) {
                worst = err;
                at = i;
            }
        }
        if (at >= 0)
            fail(what + ": element " + at + " is " + actual[at] + ", expected " + expected[at] + " (tolerance " + atol + " + " + rtol + " * |expected|)");
    }

    static void assertClose(float[] expected, float[] actual, double atol, double rtol, String what) {
        double[] e = new double[expected.length];
        for (int i = 0; i < e.length; i++) e[i] = expected[i];
        assertClose(e, actual, atol, rtol, what);
    }
}
