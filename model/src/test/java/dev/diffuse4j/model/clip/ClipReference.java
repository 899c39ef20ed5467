package dev.diffuse4j.model.clip;

import java.util.ArrayList;
import java.util.List;

/**
 * A plain float64 CLIP text encoder written straight from the transformers definition (loops, no
 * runtime ops), to test {@link ClipTextModel} against.
 */
final class ClipReference {
    final List<double[][]> hiddenStates = new ArrayList<>(); // per index: [L][D]
    double[][] lastHiddenState;
    double[] pooled;
    double[] textEmbeds;
    int eosPosition;

    /** One row of ids. */
    static ClipReference run(ClipTextConfig c, TinyClip.Weights w, int[] ids) {
        ClipReference r = new ClipReference();
        int len = ids.length, d = c.hiddenSize();
        float[] tok = w.get("text_model.embeddings.token_embedding.weight");
        float[] pos = w.get("text_model.embeddings.position_embedding.weight");
        double[][] h = new double[len][d];
        for (int t = 0; t < len; t++) for (int j = 0; j < d; j++) h[t][j] = (double) tok[ids[t] * d + j] + pos[t * d + j];
        r.hiddenStates.add(h);
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "text_model.encoder.layers." + l + ".";
            double[][] n1 = layerNorm(h, w.get(p + "layer_norm1.weight"), w.get(p + "layer_norm1.bias"), c.layerNormEps());
            double[][] q = linear(n1, w.get(p + "self_attn.q_proj.weight"), w.get(p + "self_attn.q_proj.bias"), d);
            double[][] k = linear(n1, w.get(p + "self_attn.k_proj.weight"), w.get(p + "self_attn.k_proj.bias"), d);
            double[][] v = linear(n1, w.get(p + "self_attn.v_proj.weight"), w.get(p + "self_attn.v_proj.bias"), d);
            double[][] a = causalAttention(q, k, v, c.numHeads());
            double[][] o = linear(a, w.get(p + "self_attn.out_proj.weight"), w.get(p + "self_attn.out_proj.bias"), d);
            double[][] h1 = add(h, o);
            double[][] n2 = layerNorm(h1, w.get(p + "layer_norm2.weight"), w.get(p + "layer_norm2.bias"), c.layerNormEps());
            double[][] f = linear(n2, w.get(p + "mlp.fc1.weight"), w.get(p + "mlp.fc1.bias"), c.intermediateSize());
            for (double[] row : f) for (int j = 0; j < row.length; j++) row[j] = activation(c.activation(), row[j]);
            h = add(h1, linear(f, w.get(p + "mlp.fc2.weight"), w.get(p + "mlp.fc2.bias"), d));
            r.hiddenStates.add(h);
        }
        r.lastHiddenState = layerNorm(h, w.get("text_model.final_layer_norm.weight"), w.get("text_model.final_layer_norm.bias"), c.layerNormEps());
        r.eosPosition = -1;
        for (int t = 0; t < len && r.eosPosition < 0; t++) if (ids[t] == c.eosTokenId()) r.eosPosition = t;
        r.pooled = r.lastHiddenState[r.eosPosition];
        if (c.withProjection())
            r.textEmbeds = linear(new double[][]{r.pooled}, w.get("text_projection.weight"), null, c.projectionDim())[0];
        return r;
    }

    static double activation(ClipActivation a, double x) {
        return switch (a) {
            case QUICK_GELU -> x / (1 + Math.exp(-1.702 * x));
            case GELU -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
        };
    }

    /** erf by its Maclaurin series (|x| small) or continued fraction, to ~1e-15. */
    static double erf(double x) {
        if (Math.abs(x) > 6) return Math.signum(x);
        if (Math.abs(x) < 3) {
            double sum = 0, term = x;
            for (int n = 0; n < 200; n++) {
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17) break;
                term *= -x * x / (n + 1);
            }
            return 2 / Math.sqrt(Math.PI) * sum;
        }
        // erfc continued fraction (Lentz) for |x| >= 3
        double ax = Math.abs(x), f = ax, cc = ax, dd = 0;
        for (int n = 1; n < 200; n++) {
            double an = n / 2.0;
            dd = ax + an * dd;
            dd = 1 / dd;
            cc = ax + an / cc;
            double delta = cc * dd;
            f *= delta;
            if (Math.abs(delta - 1) < 1e-16) break;
        }
        double erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
        return Math.signum(x) * (1 - erfc);
    }

    static double[][] layerNorm(double[][] x, float[] g, float[] b, double eps) {
        double[][] out = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            double mean = 0, var = 0;
            for (double v : x[t]) mean += v;
            mean /= x[t].length;
            for (double v : x[t]) var += (v - mean) * (v - mean);
            var /= x[t].length;
            double inv = 1 / Math.sqrt(var + eps);
            out[t] = new double[x[t].length];
            for (int j = 0; j < x[t].length; j++) out[t][j] = (x[t][j] - mean) * inv * g[j] + b[j];
        }
        return out;
    }

    static double[][] linear(double[][] x, float[] w, float[] b, int out) {
        int in = x[0].length;
        double[][] y = new double[x.length][out];
        for (int t = 0; t < x.length; t++)
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b[o];
                for (int i = 0; i < in; i++) s += x[t][i] * w[o * in + i];
                y[t][o] = s;
            }
        return y;
    }

    static double[][] causalAttention(double[][] q, double[][] k, double[][] v, int heads) {
        int len = q.length, d = q[0].length, hd = d / heads;
        double scale = 1 / Math.sqrt(hd);
        double[][] out = new double[len][d];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < len; i++) {
                double[] s = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    double dot = 0;
                    for (int e = 0; e < hd; e++) dot += q[i][h * hd + e] * k[j][h * hd + e];
                    s[j] = dot * scale;
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j <= i; j++) sum += s[j] = Math.exp(s[j] - max);
                for (int j = 0; j <= i; j++)
                    for (int e = 0; e < hd; e++) out[i][h * hd + e] += s[j] / sum * v[j][h * hd + e];
            }
        return out;
    }

    static double[][] add(double[][] a, double[][] b) {
        double[][] y = new double[a.length][a[0].length];
        for (int t = 0; t < a.length; t++) for (int j = 0; j < a[0].length; j++) y[t][j] = a[t][j] + b[t][j];
        return y;
    }
}
