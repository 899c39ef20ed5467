package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AdaInSpec;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionMode;
import dev.diffuse4j.runtime.ops.KvSegment;

import java.util.List;

/**
 * The attention op of DESIGN §3 written as plainly as possible in float64, straight from the
 * formulas (full logit rows, no blocking, no online softmax), as the tests' independent expectation.
 */
final class AttentionReference {
    private AttentionReference() {}

    /** out [B*Nq*H*D] and, when the call captures a segment, maps [B*Nq*N_capture] (else null). */
    record Result(double[] out, double[] maps) {}

    static Result run(AttentionCall call) {
        int count = call.segments().size();
        double[][][][] keys = new double[count][][][], values = new double[count][][][];
        for (int j = 0; j < count; j++) {
            keys[j] = rows(call.segments().get(j).k());
            values[j] = rows(call.segments().get(j).v());
        }
        return run(call, rows(call.q()), keys, values);
    }

    /**
     * The same with the inputs given as doubles ({@code rawQ} [B][Nq][C], {@code keys[j]} / {@code values[j]}
     * [Bk][Nk][C]) in place of the call's tensors, whose shapes and all other parameters still apply:
     * what finite differences of the op perturb.
     */
    static Result run(AttentionCall call, double[][][] rawQ, double[][][][] keys, double[][][][] values) {
        Tensor qt = call.q();
        int items = qt.dim(0), nq = qt.dim(1), dim = qt.dim(2), heads = call.heads(), d = dim / heads;
        double s = call.effectiveScale();
        List<KvSegment> segs = call.segments();
        int count = segs.size();
        AdaInSpec adain = call.adain();

        // Per item: its queries [Nq][dim] and each segment's keys/values [N_j][dim] (null when absent).
        double[][][] q = new double[items][][];
        double[][][][] k = new double[count][items][][], v = new double[count][items][][];
        for (int b = 0; b < items; b++) {
            q[b] = rawQ[b];
            if (adain != null && adain.queries() && adain.refItem()[b] >= 0) q[b] = adain(rawQ[b], rawQ[adain.refItem()[b]], adain.eps());
        }
        for (int j = 0; j < count; j++) {
            KvSegment seg = segs.get(j);
            double[][][] rk = keys[j], rv = values[j];
            for (int b = 0; b < items; b++) {
                int row = seg.rowFor(b, items);
                if (row < 0) continue;
                k[j][b] = rk[row];
                v[j][b] = rv[row];
                if (j == 0 && adain != null && adain.refItem()[b] >= 0) {
                    int refRow = seg.rowFor(adain.refItem()[b], items);
                    if (adain.keys()) k[j][b] = adain(rk[row], rk[refRow], adain.eps());
                    if (adain.values()) v[j][b] = adain(rv[row], rv[refRow], adain.eps());
                }
            }
        }

        int capture = call.captureSegment();
        int capN = capture >= 0 ? segs.get(capture).k().dim(1) : 0;
        double[] out = new double[items * nq * dim];
        double[] maps = capture >= 0 ? new double[items * nq * capN] : null;
        for (int b = 0; b < items; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < nq; i++) {
                    // logits[j][n], -inf where masked
                    double[][] logits = new double[count][];
                    for (int j = 0; j < count; j++) {
                        if (k[j][b] == null) continue;
                        KvSegment seg = segs.get(j);
                        int n = k[j][b].length;
                        logits[j] = new double[n];
                        for (int t = 0; t < n; t++) {
                            double dot = 0;
                            for (int c = 0; c < d; c++) dot += q[b][i][h * d + c] * k[j][b][t][h * d + c];
                            logits[j][t] = seg.logitScale() * s * dot + seg.logitBias();
                            if (call.causal() && t > i) logits[j][t] = Double.NEGATIVE_INFINITY;
                        }
                    }
                    double[] o = new double[d];
                    if (call.mode() == AttentionMode.JOINT) {
                        double max = Double.NEGATIVE_INFINITY, sum = 0;
                        for (double[] row : logits) if (row != null) for (double x : row) max = Math.max(max, x);
                        for (double[] row : logits) if (row != null) for (double x : row) sum += Math.exp(x - max);
                        for (int j = 0; j < count; j++) {
                            if (logits[j] == null) continue;
                            for (int t = 0; t < logits[j].length; t++) {
                                double p = Math.exp(logits[j][t] - max) / sum;
                                for (int c = 0; c < d; c++) o[c] += p * v[j][b][t][h * d + c];
                                if (j == capture) maps[(b * nq + i) * capN + t] += p / heads;
                            }
                        }
                    } else {
                        double total = 0;
                        for (int j = 0; j < count; j++) if (logits[j] != null) total += segs.get(j).weight();
                        for (int j = 0; j < count; j++) {
                            if (logits[j] == null) continue;
                            double max = Double.NEGATIVE_INFINITY, sum = 0;
                            for (double x : logits[j]) max = Math.max(max, x);
                            for (double x : logits[j]) sum += Math.exp(x - max);
                            double w = segs.get(j).weight() / total;
                            for (int t = 0; t < logits[j].length; t++) {
                                double p = Math.exp(logits[j][t] - max) / sum;
                                for (int c = 0; c < d; c++) o[c] += w * p * v[j][b][t][h * d + c];
                                if (j == capture) maps[(b * nq + i) * capN + t] += p / heads;
                            }
                        }
                    }
                    System.arraycopy(o, 0, out, (b * nq + i) * dim + h * d, d);
                }
            }
        }
        return new Result(out, maps);
    }

    /** x normalised per channel over tokens to ref's mean and (unbiased) variance. */
    static double[][] adain(double[][] x, double[][] ref, double eps) {
        int n = x.length, c = x[0].length;
        double[][] y = new double[n][c];
        for (int ch = 0; ch < c; ch++) {
            double mx = mean(x, ch), vx = variance(x, ch, mx), mr = mean(ref, ch), vr = variance(ref, ch, mr);
            for (int t = 0; t < n; t++) y[t][ch] = (x[t][ch] - mx) / Math.sqrt(vx + eps) * Math.sqrt(vr + eps) + mr;
        }
        return y;
    }

    private static double mean(double[][] x, int ch) {
        double s = 0;
        for (double[] row : x) s += row[ch];
        return s / x.length;
    }

    private static double variance(double[][] x, int ch, double mean) {
        double s = 0;
        for (double[] row : x) s += (row[ch] - mean) * (row[ch] - mean);
        return s / (x.length - 1);
    }

    /** [B][N][C] doubles of a rank-3 tensor of any dtype and strides. */
    static double[][][] rows(Tensor t) {
        float[] f = t.toFloatArray();
        int b = t.dim(0), n = t.dim(1), c = t.dim(2);
        double[][][] out = new double[b][n][c];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < n; j++)
                for (int ch = 0; ch < c; ch++) out[i][j][ch] = f[(i * n + j) * c + ch];
        return out;
    }
}
