package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cpu.OpsCheck.Layout;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.diffuse4j.runtime.cpu.OpsCheck.assertClose;
import static dev.diffuse4j.runtime.cpu.OpsCheck.held;
import static dev.diffuse4j.runtime.cpu.OpsCheck.make;
import static dev.diffuse4j.runtime.cpu.OpsCheck.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NormsTest {

    /** GroupNorm in float64, channels-last: x is [B, P, C] flattened; two-pass statistics per (item, group). */
    static double[] groupNormRef(double[] x, int batch, int c, int groups, double[] gamma, double[] beta, double eps, boolean silu) {
        int p = x.length / (batch * c), cg = c / groups;
        double[] y = new double[x.length];
        for (int b = 0; b < batch; b++)
            for (int g = 0; g < groups; g++) {
                double sum = 0;
                for (int i = 0; i < p; i++)
                    for (int j = 0; j < cg; j++) sum += x[(b * p + i) * c + g * cg + j];
                double mean = sum / (p * cg), m2 = 0;
                for (int i = 0; i < p; i++)
                    for (int j = 0; j < cg; j++) {
                        double d = x[(b * p + i) * c + g * cg + j] - mean;
                        m2 += d * d;
                    }
                double rstd = 1 / Math.sqrt(m2 / (p * cg) + eps);
                for (int i = 0; i < p; i++)
                    for (int j = 0; j < cg; j++) {
                        int ch = g * cg + j, at = (b * p + i) * c + ch;
                        double v = (x[at] - mean) * rstd * (gamma == null ? 1 : gamma[ch]) + (beta == null ? 0 : beta[ch]);
                        y[at] = silu ? v * OpsCheck.sigmoid(v) : v;
                    }
            }
        return y;
    }

    @Test
    void groupNormMatchesFloat64() {
        Random r = OpsCheck.random("groupNorm");
        Object[][] cases = {
                {new int[]{2, 5, 7, 64}, 32}, {new int[]{1, 3, 3, 12}, 4}, {new int[]{2, 77, 33}, 3}, {new int[]{3, 130}, 10},
                {new int[]{1, 1, 1, 6}, 6}, {new int[]{2, 9, 11, 40}, 1}, {new int[]{1, 17, 13, 96}, 32}, {new int[]{2, 1, 48}, 16}
        };
        for (Object[] cs : cases) {
            int[] shape = (int[]) cs[0];
            int groups = (int) cs[1];
            for (DType dt : new DType[]{DType.F32, DType.F16, DType.BF16})
                for (Layout layout : Layout.values())
                    for (boolean silu : new boolean[]{false, true})
                        try (Scope s = Scope.open()) {
                            int n = (int) OpsCheck.numel(shape), c = shape[shape.length - 1];
                            float[] xv = randn(r, n, 2);
                            float shiftPerChannel = (float) r.nextGaussian() * 3;
                            for (int i = 0; i < n; i++) xv[i] += shiftPerChannel * (i % c) / c;
                            Tensor x = make(xv, dt, layout, shape);
                            boolean affine = r.nextBoolean();
                            Tensor gamma = affine ? make(randn(r, c, 1), DType.F32, Layout.PADDED, c) : null;
                            Tensor beta = affine ? make(randn(r, c, 1), DType.BF16, Layout.CONTIGUOUS, c) : null;
                            double[] ref = groupNormRef(held(x), shape[0], c, groups, affine ? held(gamma) : null, affine ? held(beta) : null, 1e-5, silu);
                            Tensor y = Norms.groupNorm(x, groups, gamma, beta, 1e-5f, silu); // F32 result (Ops rounds half inputs: HalfStorageTest)
                            assertArrayEquals(shape, y.shape());
                            assertClose("groupNorm" + (silu ? "+silu " : " ") + dt + layout + OpsCheck.str(shape) + " groups " + groups,
                                    ref, y.toFloatArray(), 1e-6, 1e-5);
                        }
        }
    }

    @Test
    void groupNormIsAccurateOverALargeItemFarFromZero() {
        // SD's largest GroupNorm input per item, with channel means far from zero relative to their spread.
        Random r = OpsCheck.random("groupNorm large");
        int[] shape = {2, 64, 64, 320};
        int n = (int) OpsCheck.numel(shape), c = 320;
        float[] xv = randn(r, n, 0.5);
        double[] offset = new double[c];
        for (int ch = 0; ch < c; ch++) offset[ch] = 40 + 20 * r.nextGaussian();
        for (int i = 0; i < n; i++) xv[i] += (float) offset[i % c];
        try (Scope s = Scope.open()) {
            Tensor x = make(xv, shape);
            Tensor gamma = make(randn(r, c, 1), c), beta = make(randn(r, c, 1), c);
            double[] ref = groupNormRef(held(x), 2, c, 32, held(gamma), held(beta), 1e-5, true);
            assertClose("groupNorm+silu 2x64x64x320", ref, Ops.groupNormSilu(x, 32, gamma, beta, 1e-5f).toFloatArray(), 1e-6, 1e-5);
        }
    }

    @Test
    void groupNormErrorsNameTheOpAndShapes() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(2, 4, 4, 30);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.groupNorm(x, 32, null, null, 1e-5f));
            assertTrue(e.getMessage().contains("groupNorm") && e.getMessage().contains("[2, 4, 4, 30]") && e.getMessage().contains("32 groups"), e.getMessage());
            Tensor g = Tensor.zeros(31);
            e = assertThrows(IllegalArgumentException.class, () -> Ops.groupNorm(x, 3, g, null, 1e-5f));
            assertTrue(e.getMessage().contains("gamma F32[31]") && e.getMessage().contains("[2, 4, 4, 30]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Ops.groupNorm(Tensor.zeros(30), 3, null, null, 1e-5f));
            assertTrue(e.getMessage().contains("groupNorm") && e.getMessage().contains("F32[30]"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------- LayerNorm

    static double[] layerNormRef(double[] x, int d, double[] gamma, double[] beta, double eps) {
        double[] y = new double[x.length];
        for (int row = 0; row < x.length / d; row++) {
            double sum = 0, m2 = 0;
            for (int j = 0; j < d; j++) sum += x[row * d + j];
            double mean = sum / d;
            for (int j = 0; j < d; j++) m2 += (x[row * d + j] - mean) * (x[row * d + j] - mean);
            double rstd = 1 / Math.sqrt(m2 / d + eps);
            for (int j = 0; j < d; j++)
                y[row * d + j] = (x[row * d + j] - mean) * rstd * (gamma == null ? 1 : gamma[j]) + (beta == null ? 0 : beta[j]);
        }
        return y;
    }

    @Test
    void layerNormMatchesFloat64() {
        Random r = OpsCheck.random("layerNorm");
        int[][] shapes = {{1}, {7}, {3, 33}, {2, 77, 768}, {2, 5, 130}, {4, 1280}, {1, 3, 16}};
        for (int[] shape : shapes)
            for (DType dt : new DType[]{DType.F32, DType.F16})
                for (Layout layout : Layout.values())
                    try (Scope s = Scope.open()) {
                        int n = (int) OpsCheck.numel(shape), d = shape[shape.length - 1];
                        float[] xv = randn(r, n, 0.1);
                        float offset = (float) r.nextGaussian() * 20;
                        for (int i = 0; i < n; i++) xv[i] += offset;
                        Tensor x = make(xv, dt, layout, shape);
                        int mode = r.nextInt(3); // both, gamma only, neither
                        Tensor gamma = mode < 2 ? make(randn(r, d, 1), d) : null;
                        Tensor beta = mode == 0 ? make(randn(r, d, 1), DType.F16, Layout.CONTIGUOUS, d) : null;
                        double[] ref = layerNormRef(held(x), d, gamma == null ? null : held(gamma), beta == null ? null : held(beta), 1e-5);
                        assertClose("layerNorm " + dt + layout + OpsCheck.str(shape) + " mode " + mode, ref,
                                Norms.layerNorm(x, gamma, beta, 1e-5f).toFloatArray(), 2e-6, 2e-5);
                    }
    }

    @Test
    void layerNormErrorsNameTheOpAndShapes() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(2, 77, 768), b = Tensor.zeros(767);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.layerNorm(x, null, b, 1e-5f));
            assertTrue(e.getMessage().contains("layerNorm") && e.getMessage().contains("beta F32[767]") && e.getMessage().contains("[2, 77, 768]"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------- softmax

    static double[] softmaxRef(double[] x, int n) {
        double[] y = new double[x.length];
        for (int row = 0; row < x.length / n; row++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < n; j++) max = Math.max(max, x[row * n + j]);
            for (int j = 0; j < n; j++) sum += Math.exp(x[row * n + j] - max);
            for (int j = 0; j < n; j++) y[row * n + j] = Math.exp(x[row * n + j] - max) / sum;
        }
        return y;
    }

    @Test
    void softmaxMatchesFloat64IncludingMaskedEntries() {
        Random r = OpsCheck.random("softmax");
        int[][] shapes = {{1}, {7}, {3, 33}, {2, 8, 77, 77}, {4, 1000}, {3, 2, 130}, {5, 16}};
        for (int[] shape : shapes)
            for (DType dt : new DType[]{DType.F32, DType.BF16})
                for (Layout layout : Layout.values())
                    try (Scope s = Scope.open()) {
                        int n = (int) OpsCheck.numel(shape), len = shape[shape.length - 1];
                        float[] xv = randn(r, n, 6);
                        // Mask some entries (never a whole row): -inf must give exactly 0.
                        for (int i = 0; i < n; i++) if (i % len != 0 && r.nextInt(5) == 0) xv[i] = Float.NEGATIVE_INFINITY;
                        for (int i = 0; i < n; i += len) xv[i] += 50; // large logits: max subtraction matters
                        Tensor x = make(xv, dt, layout, shape);
                        double[] ref = softmaxRef(held(x), len);
                        float[] got = Norms.softmax(x).toFloatArray();
                        assertClose("softmax " + dt + layout + OpsCheck.str(shape), ref, got, 1e-6, 2e-6);
                        for (int i = 0; i < n; i++) if (xv[i] == Float.NEGATIVE_INFINITY) assertTrue(got[i] == 0f, "masked entry " + i);
                    }
    }

    @Test
    void softmaxOfAFullyMaskedRowIsNaNLikeTorch() {
        try (Scope s = Scope.open()) {
            float ninf = Float.NEGATIVE_INFINITY;
            float[] got = Ops.softmax(make(new float[]{ninf, ninf, ninf, 0f, 1f, 2f}, 2, 3)).toFloatArray();
            for (int i = 0; i < 3; i++) assertTrue(Float.isNaN(got[i]), "masked row element " + i + " = " + got[i]);
            assertClose("unmasked row", softmaxRef(new double[]{0, 1, 2}, 3), new float[]{got[3], got[4], got[5]}, 1e-6, 2e-6);
        }
    }
}
