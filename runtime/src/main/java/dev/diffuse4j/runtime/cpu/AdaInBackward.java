package dev.diffuse4j.runtime.cpu;

/**
 * Reverse mode of {@link AdaIn} for one channel range. Per channel, with N tokens, unbiased variance
 * and {@code sigma = sqrt(var + eps)}: {@code y = xhat * sigma_r + mu_r}, {@code xhat = (x - mu_x) / sigma_x}.
 * Given {@code g = dL/dy} the normalised row receives
 * {@code dx = (sigma_r / sigma_x) (g - mean(g)) - xhat * sigma_r * sum(g xhat) / (sigma_x (N-1))}
 * and the reference row, through its statistics, {@code dr = sum(g) / N + sum(g xhat) * rhat / (N-1)}.
 * Works in double; the caller owns the channel range, so no other thread writes the same outputs.
 */
final class AdaInBackward {
    private AdaInBackward() {}

    /**
     * Adds the gradients of one AdaIN'd row into {@code dRaw} ([rows][tokens][channels]).
     *
     * @param raw    the un-normalised tensor the row and its reference come from
     * @param xRow   the normalised row; {@code refRow} the row whose statistics it takes
     * @param stats  {mean, variance} per channel of each row (null for rows not needed), from {@link AdaIn#meanAndVariance}
     * @param g      dL/dy, token n channel c0+i at {@code g[gOff + n*gStride + i]}
     */
    static void accumulate(TokenRows raw, int xRow, int refRow, double[][][] stats, int tokens, int channels, float eps,
                           float[] g, int gOff, int gStride, float[] dRaw, int c0, int len) {
        double[] mx = stats[xRow][0], vx = stats[xRow][1], mr = stats[refRow][0], vr = stats[refRow][1];
        double[] sumG = new double[len], sumGX = new double[len], sx = new double[len], sr = new double[len];
        float[] x = new float[tokens * len], r = new float[tokens * len];
        for (int n = 0; n < tokens; n++) {
            raw.read(xRow, n, c0, len, x, n * len);
            raw.read(refRow, n, c0, len, r, n * len);
        }
        for (int i = 0; i < len; i++) {
            sx[i] = Math.sqrt(vx[c0 + i] + eps);
            sr[i] = Math.sqrt(vr[c0 + i] + eps);
        }
        for (int n = 0; n < tokens; n++)
            for (int i = 0; i < len; i++) {
                double gi = g[gOff + n * gStride + i], xhat = (x[n * len + i] - mx[c0 + i]) / sx[i];
                sumG[i] += gi;
                sumGX[i] += gi * xhat;
            }
        long xBase = (long) xRow * tokens * channels + c0, rBase = (long) refRow * tokens * channels + c0;
        for (int n = 0; n < tokens; n++)
            for (int i = 0; i < len; i++) {
                double gi = g[gOff + n * gStride + i];
                double xhat = (x[n * len + i] - mx[c0 + i]) / sx[i], rhat = (r[n * len + i] - mr[c0 + i]) / sr[i];
                double dx = sr[i] / sx[i] * (gi - sumG[i] / tokens) - xhat * sr[i] * sumGX[i] / (sx[i] * (tokens - 1));
                double dr = sumG[i] / tokens + sumGX[i] * rhat / (tokens - 1);
                dRaw[(int) (xBase + (long) n * channels + i)] += (float) dx;
                dRaw[(int) (rBase + (long) n * channels + i)] += (float) dr;
            }
    }

    /** {mean, variance} of the rows flagged in {@code needed} (others null), in parallel. */
    static double[][][] stats(TokenRows rows, boolean[] needed, int tokens, int channels) {
        double[][][] out = new double[needed.length][][];
        Parallel.forEach(needed.length, r -> {
            if (needed[r]) out[r] = AdaIn.meanAndVariance(rows, r, tokens, channels);
        });
        return out;
    }
}
