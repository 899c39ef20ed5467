package dev.diffuse4j.attention;

import dev.diffuse4j.model.nn.GroupNorm;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** StyleAligned's shared GroupNorm against float64 joint statistics and its identities. */
class SharedGroupNormTest {
    static final int H = 3, W = 4, C = 8, GROUPS = 2;
    static final float EPS = 1e-5f;

    static GroupNorm norm(Random r) {
        return new GroupNorm(ProcessorFixtures.random(r, C), ProcessorFixtures.random(r, C), GROUPS, EPS);
    }

    /** Row b normalised with the statistics of rows b and ref together, per group, in float64. */
    static double[] expected(float[] x, int b, int ref, float[] gamma, float[] beta, boolean silu) {
        int plane = H * W * C, cpg = C / GROUPS;
        double[] out = new double[plane];
        for (int g = 0; g < GROUPS; g++) {
            double sum = 0, sq = 0;
            int n = 0;
            for (int row : new int[]{b, ref})
                for (int p = 0; p < H * W; p++)
                    for (int c = g * cpg; c < (g + 1) * cpg; c++) sum += x[row * plane + p * C + c];
            double mean = sum / (2.0 * H * W * cpg);
            for (int row : new int[]{b, ref})
                for (int p = 0; p < H * W; p++)
                    for (int c = g * cpg; c < (g + 1) * cpg; c++) {
                        double d = x[row * plane + p * C + c] - mean;
                        sq += d * d;
                        n++;
                    }
            double inv = 1 / Math.sqrt(sq / n + EPS); // GroupNorm: biased variance
            for (int p = 0; p < H * W; p++)
                for (int c = g * cpg; c < (g + 1) * cpg; c++) {
                    double y = (x[b * plane + p * C + c] - mean) * inv * gamma[c] + beta[c];
                    out[p * C + c] = silu ? y / (1 + Math.exp(-y)) : y;
                }
        }
        return out;
    }

    @Test
    void eachRowIsNormalisedJointlyWithTheReferenceOfItsHalf() {
        Random r = new Random(11);
        int batch = 6; // [u_ref, u1, u2, c_ref, c1, c2]
        Tensor x = ProcessorFixtures.random(r, batch, H, W, C);
        float[] xs = x.toFloatArray();
        for (int b = 0; b < xs.length; b++) xs[b] += (b / (H * W * C)) * 0.7f; // rows differ in mean as well
        Tensor shifted = Tensor.of(xs, batch, H, W, C);
        GroupNorm gn = norm(r);
        BatchLayout layout = BatchLayout.guidedWithReferenceFirst();
        for (boolean silu : new boolean[]{false, true}) {
            Tensor y = new SharedGroupNorm(layout).apply(gn, shifted, silu);
            assertArrayEquals(new int[]{batch, H, W, C}, y.shape());
            for (int b = 0; b < batch; b++) {
                double[] want = expected(xs, b, layout.referenceOf(b, batch), gn.gamma().toFloatArray(), gn.beta().toFloatArray(), silu);
                float[] got = ProcessorFixtures.row(y, b);
                for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 2e-5, "row " + b + " element " + i + " silu=" + silu);
            }
        }
    }

    @Test
    void referenceRowsAreUnchangedAndIdenticalItemsGivePlainGroupNorm() {
        Random r = new Random(12);
        GroupNorm gn = norm(r);
        Tensor x = ProcessorFixtures.random(r, 4, H, W, C);
        Tensor shared = new SharedGroupNorm(BatchLayout.guidedWithReferenceFirst()).apply(gn, x, true), plain = gn.forwardSilu(x);
        for (int ref : new int[]{0, 2}) assertArrayEquals(ProcessorFixtures.row(plain, ref), ProcessorFixtures.row(shared, ref), 1e-6f, "reference row " + ref);
        assertFalse(java.util.Arrays.equals(ProcessorFixtures.row(plain, 1), ProcessorFixtures.row(shared, 1)), "targets do change");

        // every item equal to its reference: joint statistics are the item's own
        float[] one = ProcessorFixtures.row(x, 0), other = ProcessorFixtures.row(x, 1);
        float[] same = new float[4 * one.length];
        for (int b = 0; b < 4; b++) System.arraycopy(b < 2 ? one : other, 0, same, b * one.length, one.length);
        Tensor identical = Tensor.of(same, 4, H, W, C);
        Tensor s = new SharedGroupNorm(BatchLayout.guidedWithReferenceFirst()).apply(gn, identical, false), p = gn.forward(identical);
        assertArrayEquals(p.toFloatArray(), s.toFloatArray(), 1e-6f);
    }

    @Test
    void unguidedBatchesShareRowZero() {
        Random r = new Random(13);
        GroupNorm gn = norm(r);
        Tensor x = ProcessorFixtures.random(r, 3, H, W, C);
        float[] xs = x.toFloatArray();
        Tensor y = new SharedGroupNorm(BatchLayout.unguidedWithReferenceFirst()).apply(gn, x, false);
        for (int b = 0; b < 3; b++) {
            double[] want = expected(xs, b, 0, gn.gamma().toFloatArray(), gn.beta().toFloatArray(), false);
            float[] got = ProcessorFixtures.row(y, b);
            for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 2e-5, "row " + b);
        }
        assertThrows(IllegalArgumentException.class, () -> new SharedGroupNorm(BatchLayout.guidedWithReferenceFirst()).apply(gn, x, false),
                "a guided layout needs an even batch");
    }
}
