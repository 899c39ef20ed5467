package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionGrads;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks the attention op's gradients against central finite differences of the float64
 * {@link AttentionReference} forward, for the scalar loss {@code L = sum(dOut * out) + sum(dMaps * maps)},
 * whose gradient is exactly what {@code attentionBackward(call, dOut, dMaps)} returns.
 */
final class AttentionGradCheck {
    private static final double H = 1e-4;

    private final AttentionCall call;
    private final double[] dOut, dMaps;
    private final double[][][] q;
    private final double[][][][] k, v;

    AttentionGradCheck(AttentionCall call, Tensor dOut, Tensor dMaps) {
        this.call = call;
        this.dOut = doubles(dOut);
        this.dMaps = doubles(dMaps);
        int count = call.segments().size();
        this.q = AttentionReference.rows(call.q());
        this.k = new double[count][][][];
        this.v = new double[count][][][];
        for (int j = 0; j < count; j++) {
            k[j] = AttentionReference.rows(call.segments().get(j).k());
            v[j] = AttentionReference.rows(call.segments().get(j).v());
        }
    }

    private static double[] doubles(Tensor t) {
        if (t == null) return null;
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    double loss() {
        AttentionReference.Result r = AttentionReference.run(call, q, k, v);
        double sum = 0;
        if (dOut != null) for (int i = 0; i < dOut.length; i++) sum += dOut[i] * r.out()[i];
        if (dMaps != null) for (int i = 0; i < dMaps.length; i++) sum += dMaps[i] * r.maps()[i];
        return sum;
    }

    /**
     * Compares every gradient with finite differences at up to {@code samples} elements per tensor
     * (all when the tensor is smaller; else a random choice). Tolerance: {@code rtol * |fd|} plus
     * {@code atol} times the largest finite difference seen over all tensors.
     */
    void verify(AttentionGrads grads, int samples, Random rnd, double atol, double rtol) {
        int count = call.segments().size();
        assertArrayEquals(call.q().shape(), grads.dq().shape(), "dq shape");
        double[][] expected = new double[1 + 2 * count][], actual = new double[1 + 2 * count][];
        int[][] where = new int[1 + 2 * count][];
        String[] names = new String[1 + 2 * count];
        names[0] = "dq";
        sample(q, grads.dq(), samples, rnd, expected, actual, where, 0);
        for (int j = 0; j < count; j++) {
            assertArrayEquals(call.segments().get(j).k().shape(), grads.dk().get(j).shape(), "dk shape of segment " + j);
            assertArrayEquals(call.segments().get(j).v().shape(), grads.dv().get(j).shape(), "dv shape of segment " + j);
            names[1 + 2 * j] = "dk[" + j + "]";
            names[2 + 2 * j] = "dv[" + j + "]";
            sample(k[j], grads.dk().get(j), samples, rnd, expected, actual, where, 1 + 2 * j);
            sample(v[j], grads.dv().get(j), samples, rnd, expected, actual, where, 2 + 2 * j);
        }
        double scale = 0;
        for (double[] e : expected) for (double x : e) scale = Math.max(scale, Math.abs(x));
        if (scale == 0) fail("all finite differences are zero: the check would prove nothing");
        for (int t = 0; t < names.length; t++)
            for (int i = 0; i < expected[t].length; i++) {
                double e = expected[t][i], a = actual[t][i];
                if (!(Math.abs(a - e) <= atol * scale + rtol * Math.abs(e)))
                    fail(names[t] + " element " + where[t][i] + " is " + a + ", finite differences give " + e
                            + " (tolerance " + atol + " * " + scale + " + " + rtol + " * |fd|)");
            }
    }

    private void sample(double[][][] x, Tensor grad, int samples, Random rnd, double[][] expected, double[][] actual, int[][] where, int slot) {
        float[] g = grad.toFloatArray();
        int n = g.length, take = Math.min(n, samples);
        int rows = x[0].length, channels = x[0][0].length;
        expected[slot] = new double[take];
        actual[slot] = new double[take];
        where[slot] = new int[take];
        for (int s = 0; s < take; s++) {
            int idx = take == n ? s : rnd.nextInt(n);
            int b = idx / (rows * channels), t = idx / channels % rows, c = idx % channels;
            double keep = x[b][t][c];
            x[b][t][c] = keep + H;
            double up = loss();
            x[b][t][c] = keep - H;
            double down = loss();
            x[b][t][c] = keep;
            expected[slot][s] = (up - down) / (2 * H);
            actual[slot][s] = g[idx];
            where[slot][s] = idx;
        }
    }
}
