package dev.diffuse4j.runtime.cpu.grad;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cpu.Parallel;
import dev.diffuse4j.runtime.ops.NormGrads;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Reverse mode of GroupNorm (+ fused SiLU) over channels-last x [B, ..., C]; LayerNorm is one group
 * over [rows, 1, C]. Per (item, group) with N elements, xhat = (x - mean) rstd and g = dy' gamma
 * (dy' = dy silu'(gamma xhat + beta) when fused):
 * {@code dx = rstd (g - mean(g) - xhat mean(g xhat))}, dgamma = sum dy' xhat, dbeta = sum dy'.
 * One task per (item, group); statistics in double.
 */
public final class NormGrad {
    private NormGrad() {}

    public static NormGrads groupNormBackward(Tensor x, Tensor dy, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        String op = silu ? "groupNorm+silu backward" : "groupNorm backward";
        if (x.rank() < 2) throw new IllegalArgumentException(op + ": x " + x.describe() + " must be channels-last [B, ..., C]");
        if (!Arrays.equals(x.shape(), dy.shape()))
            throw new IllegalArgumentException(op + ": x " + x.describe() + " and dy " + dy.describe() + " differ in shape");
        int batch = x.dim(0), c = x.dim(-1);
        if (groups <= 0 || c % groups != 0)
            throw new IllegalArgumentException(op + ": the " + c + " channels of x " + x.describe() + " do not split into " + groups + " groups");
        float[] g = param(op, "gamma", gamma, c, 1f), b = param(op, "beta", beta, c, 0f);
        long positions = x.numel() / ((long) batch * c);
        int cg = c / groups;
        double n = (double) positions * cg;
        double[][] dGamma = new double[batch][c], dBeta = new double[batch][c];
        Tensor dx = Tensor.zeros(DType.F32, x.shape());
        MemorySegment os = dx.cpuSegment();
        try (HostF32 xs = new HostF32(op, "x", x); HostF32 ds = new HostF32(op, "dy", dy)) {
            Parallel.forEach(batch * groups, task -> {
                int item = task / groups, c0 = (task % groups) * cg;
                long first = (long) item * positions * c + c0;
                double sum = 0, sq = 0;
                for (long p = 0; p < positions; p++)
                    for (int j = 0; j < cg; j++) sum += xs.get(first + p * c + j);
                double mean = sum / n;
                for (long p = 0; p < positions; p++)  // two passes: no cancellation when |mean| >> std
                    for (int j = 0; j < cg; j++) { double v = xs.get(first + p * c + j) - mean; sq += v * v; }
                double rstd = 1 / Math.sqrt(sq / n + eps);
                double sg = 0, sgx = 0;
                double[] dgRow = dGamma[item], dbRow = dBeta[item];
                int count = Math.toIntExact(positions * cg);
                float[] xhat = new float[count], dpre = new float[count];  // kept for the last pass: one exp per element
                for (int p = 0, at = 0; p < positions; p++)
                    for (int j = 0; j < cg; j++, at++) {
                        long i = first + (long) p * c + j;
                        double xh = (xs.get(i) - mean) * rstd, d = dyPre(ds.get(i), xh, g[c0 + j], b[c0 + j], silu);
                        xhat[at] = (float) xh;
                        dpre[at] = (float) d;
                        dgRow[c0 + j] += d * xh;
                        dbRow[c0 + j] += d;
                        double gi = d * g[c0 + j];
                        sg += gi;
                        sgx += gi * xh;
                    }
                double mg = sg / n, mgx = sgx / n;
                for (int p = 0, at = 0; p < positions; p++)
                    for (int j = 0; j < cg; j++, at++) {
                        long i = first + (long) p * c + j;
                        os.set(HostF32.F, 4 * i, (float) (rstd * (dpre[at] * g[c0 + j] - mg - xhat[at] * mgx)));
                    }
            });
        }
        return new NormGrads(dx, gamma == null ? null : column(dGamma, c), beta == null ? null : column(dBeta, c));
    }

    /** dLoss/d(gamma xhat + beta): dy itself, or through the fused SiLU. */
    private static double dyPre(double dy, double xh, double gamma, double beta, boolean silu) {
        if (!silu) return dy;
        double y = gamma * xh + beta, s = 1 / (1 + Math.exp(-y));
        return dy * s * (1 + y * (1 - s));
    }

    private static Tensor column(double[][] perItem, int c) {
        float[] out = new float[c];
        for (int k = 0; k < c; k++) {
            double s = 0;
            for (double[] row : perItem) s += row[k];
            out[k] = (float) s;
        }
        return Tensor.of(out, c);
    }

    private static float[] param(String op, String name, Tensor p, int c, float absent) {
        float[] v = new float[c];
        if (p == null) { Arrays.fill(v, absent); return v; }
        if (p.numel() != c) throw new IllegalArgumentException(op + ": " + name + " " + p.describe() + " must have " + c + " elements");
        try (HostF32 h = new HostF32(op, name, p)) {
            for (int i = 0; i < c; i++) v[i] = h.get(i);
        }
        return v;
    }
}
