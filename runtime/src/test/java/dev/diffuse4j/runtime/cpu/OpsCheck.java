package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Shapes;
import dev.diffuse4j.runtime.Tensor;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.fail;

/** Shared helpers for the CPU op tests: random inputs in several memory layouts, float64 math, comparisons. */
final class OpsCheck {
    private OpsCheck() {}

    /** A fresh random source; the seed is printed so a failure can be replayed. */
    static Random random(String test) {
        long seed = Long.getLong("d4j.test.seed", System.nanoTime());
        System.out.println(test + ": seed " + seed + " (replay with -Dd4j.test.seed=" + seed + ")");
        return new Random(seed);
    }

    static float[] randn(Random r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * scale);
        return v;
    }

    /** How an input is laid out in memory; every layout holds the same logical values. */
    enum Layout {
        /** Plain row-major. */
        CONTIGUOUS,
        /** Rows padded: a slice of a wider tensor along the last dim, at a nonzero offset. */
        PADDED,
        /** Dimensions stored in reverse order and permuted back: the last dim has a non-unit stride. */
        TRANSPOSED
    }

    /**
     * A tensor of the given dtype, shape and layout holding {@code values} rounded to the dtype. The
     * returned view owns the only reference to its storage.
     */
    static Tensor make(float[] values, DType dt, Layout layout, int... shape) {
        int rank = shape.length;
        Tensor view;
        switch (layout) {
            case CONTIGUOUS -> view = Tensor.zeros(dt, shape);
            case PADDED -> {
                int[] wide = shape.clone();
                if (rank == 0) {
                    view = Tensor.zeros(dt, shape);
                    break;
                }
                wide[rank - 1] += 3;
                try (Tensor base = Tensor.zeros(dt, wide)) {
                    view = base.slice(rank - 1, 2, 2 + shape[rank - 1]);
                }
            }
            case TRANSPOSED -> {
                int[] rev = new int[rank];
                int[] order = new int[rank];
                for (int i = 0; i < rank; i++) {
                    rev[i] = shape[rank - 1 - i];
                    order[i] = rank - 1 - i;
                }
                try (Tensor base = Tensor.zeros(dt, rev)) {
                    view = base.permute(order);
                }
            }
            default -> throw new AssertionError(layout);
        }
        for (int i = 0; i < values.length; i++) view.setFloat(i, values[i]);
        return view;
    }

    static Tensor make(float[] values, int... shape) { return make(values, DType.F32, Layout.CONTIGUOUS, shape); }

    /** The values as the tensor holds them (after rounding to its dtype), widened to double. */
    static double[] held(Tensor t) {
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    static int[] shape(int... s) { return s; }

    static long numel(int... shape) { return Shapes.numel(shape); }

    // ---------------------------------------------------------------- float64 reference math

    static double sigmoid(double x) { return 1.0 / (1.0 + Math.exp(-x)); }

    /** erfc for z >= 0: power series of erf below 3 (no cancellation problem there), continued fraction above. */
    static double erfc(double z) {
        if (z < 0) return 2 - erfc(-z);
        if (z < 3) {
            // erf(z) = 2/sqrt(pi) * exp(-z^2) * sum_n (2z^2)^n z / (1*3*...*(2n+1)); all terms positive.
            double term = z, sum = z;
            for (int n = 1; n < 200 && term > 1e-18 * sum; n++) {
                term *= 2 * z * z / (2 * n + 1);
                sum += term;
            }
            return 1 - 2 / Math.sqrt(Math.PI) * Math.exp(-z * z) * sum;
        }
        // erfc(z) = exp(-z^2)/sqrt(pi) * 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + ...))))), evaluated bottom-up.
        double f = z;
        for (int k = 200; k >= 1; k--) f = z + (k / 2.0) / f;
        return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
    }

    static double normalCdf(double x) { return 0.5 * erfc(-x / Math.sqrt(2)); }

    static double geluErf(double x) { return x * normalCdf(x); }

    /** 0.5 x (1 + tanh(u)), written as x sigmoid(2u) (the same function) so that float64 does not cancel in the tail. */
    static double geluTanh(double x) { return x * sigmoid(2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)); }

    // ---------------------------------------------------------------- comparisons

    static final double TINY = 1e-6;

    static double relL2(double[] ref, float[] got) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double e = got[i] - ref[i];
            num += e * e;
            den += ref[i] * ref[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    /**
     * Asserts that {@code got} matches {@code ref}: relative L2 error at most {@code l2Tol}, and every
     * element within {@code elemTol} relative to max(|ref_i|, rms(ref)). NaN must match NaN, inf must match inf.
     * Scales below {@link #TINY} count as TINY: far-tail values like gelu(-12) ~ 1e-32 are compared absolutely.
     */
    static void assertClose(String what, double[] ref, float[] got, double l2Tol, double elemTol) {
        if (ref.length != got.length) fail(what + ": " + got.length + " values, expected " + ref.length);
        double sq = 0;
        int finite = 0;
        for (double v : ref) if (Double.isFinite(v)) { sq += v * v; finite++; }
        double rms = finite == 0 ? 0 : Math.sqrt(sq / finite);
        double num = 0;
        for (int i = 0; i < ref.length; i++) {
            double r = ref[i];
            float g = got[i];
            if (Double.isNaN(r) || Double.isInfinite(r)) {
                if (Double.isNaN(r) ? !Float.isNaN(g) : g != r)
                    fail(what + ": element " + i + " is " + g + ", expected " + r);
                continue;
            }
            double e = Math.abs(g - r);
            if (!(e <= elemTol * Math.max(Math.max(Math.abs(r), rms), TINY)))
                fail(what + ": element " + i + " is " + g + ", expected " + r + " (error " + e + ", rms " + rms + ")");
            num += e * e;
        }
        double rel = Math.sqrt(num / Math.max(sq, finite * TINY * TINY));
        if (!(rel <= l2Tol)) fail(what + ": relative L2 error " + rel + " exceeds " + l2Tol);
    }

    static String str(int... shape) { return Arrays.toString(shape); }
}
