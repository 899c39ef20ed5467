package dev.diffuse4j.runtime.cpu;

import java.util.ArrayList;
import java.util.List;

/**
 * AdaIN of attention features (StyleAligned, DESIGN §3): per channel over tokens,
 * {@code x' = (x - mu_x) / sqrt(var_x + eps) * sqrt(var_ref + eps) + mu_ref} with unbiased variance.
 * For fixed statistics this is a per-channel affine map {@code x' = (x - mean) * gain + refMean}, which
 * the attention op applies while it gathers queries and packs keys/values, so inputs stay untouched.
 */
final class AdaIn {
    private AdaIn() {}

    /** x' = (x - mean[c]) * gain[c] + refMean[c] over all H*D channels (centring first keeps precision). */
    record ChannelAffine(float[] mean, float[] gain, float[] refMean) {
        void apply(float[] x, int off, int c0, int len) {
            for (int i = 0; i < len; i++) x[off + i] = (x[off + i] - mean[c0 + i]) * gain[c0 + i] + refMean[c0 + i];
        }
    }

    /**
     * The affine map of every item that has a reference: {@code rowOf[b]} is the tensor row item b
     * reads (-1: none), {@code refItem[b]} the item whose row gives the target statistics (-1: none).
     * Items whose row equals their reference's row get null (the map would be the identity).
     * Statistics are computed once per row, from the un-normalised data, in double.
     */
    static ChannelAffine[] affines(TokenRows rows, int tokens, int channels, int[] rowOf, int[] refItem, float eps, String what) {
        int items = rowOf.length;
        int[] statsRow = new int[items * 2];
        List<Integer> needed = new ArrayList<>();
        for (int b = 0; b < items; b++) {
            int r = refItem[b];
            if (r < 0 || rowOf[b] < 0 || rowOf[b] == rowOf[r]) continue;
            if (rowOf[r] < 0)
                throw new IllegalArgumentException("attention: AdaIN reference item " + r + " of item " + b + " has no " + what);
            if (!needed.contains(rowOf[b])) needed.add(rowOf[b]);
            if (!needed.contains(rowOf[r])) needed.add(rowOf[r]);
        }
        ChannelAffine[] out = new ChannelAffine[items];
        if (needed.isEmpty()) return out;
        double[][][] stats = new double[needed.size()][][];
        Parallel.forEach(needed.size(), i -> stats[i] = meanAndVariance(rows, needed.get(i), tokens, channels));
        for (int b = 0; b < items; b++) {
            int r = refItem[b];
            if (r < 0 || rowOf[b] < 0 || rowOf[b] == rowOf[r]) continue;
            out[b] = between(stats[needed.indexOf(rowOf[b])], stats[needed.indexOf(rowOf[r])], eps);
        }
        return out;
    }

    /** {mean[c], unbiased variance[c]} over the tokens of one row, two-pass in double. */
    static double[][] meanAndVariance(TokenRows rows, int row, int tokens, int channels) {
        double[] mean = new double[channels], m2 = new double[channels];
        float[] buf = new float[channels];
        for (int n = 0; n < tokens; n++) {
            rows.read(row, n, 0, channels, buf, 0);
            for (int c = 0; c < channels; c++) mean[c] += buf[c];
        }
        for (int c = 0; c < channels; c++) mean[c] /= tokens;
        for (int n = 0; n < tokens; n++) {
            rows.read(row, n, 0, channels, buf, 0);
            for (int c = 0; c < channels; c++) {
                double d = buf[c] - mean[c];
                m2[c] += d * d;
            }
        }
        for (int c = 0; c < channels; c++) m2[c] /= tokens - 1;
        return new double[][]{mean, m2};
    }

    private static ChannelAffine between(double[][] x, double[][] ref, float eps) {
        int channels = x[0].length;
        float[] mean = new float[channels], gain = new float[channels], refMean = new float[channels];
        for (int c = 0; c < channels; c++) {
            mean[c] = (float) x[0][c];
            gain[c] = (float) (Math.sqrt(ref[1][c] + eps) / Math.sqrt(x[1][c] + eps));
            refMean[c] = (float) ref[0][c];
        }
        return new ChannelAffine(mean, gain, refMean);
    }
}
