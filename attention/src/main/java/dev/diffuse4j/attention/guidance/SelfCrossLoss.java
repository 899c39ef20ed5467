package dev.diffuse4j.attention.guidance;

/**
 * The Self-Cross overlap loss (Qiu et al., CVPR 2025). Per subject i, the aggregated self-attention
 * map {@code S_i = sum_{p in M_i} C_i(p) * smooth(Self[p])} over the pixels p of the Otsu mask M_i of
 * its smoothed cross map C_i (each row of the self map seen as an h x w image). For every ordered
 * pair i != j, {@code L_ij = sum min(S_j / (sum S_j + eps), C_i)}; the loss is the mean over pairs.
 * The cross map C_i is normalised to sum 1 the same way only when the grid is taller than 16 (the
 * authors' code does it for SD2.1's 24x24). Masks are constants; min routes its gradient to the
 * smaller argument (half each on ties, as torch does).
 */
public final class SelfCrossLoss {
    private SelfCrossLoss() {}

    /**
     * @param eps         added to the normalisers: 1e-4 during denoising, 0 in the INITNO stage
     * @param smoothSelf  blur each self-attention row before aggregating (INITNO flavour; CONFORM's does not)
     */
    public static LossTerm of(SubjectMaps maps, double eps, boolean smoothSelf) {
        int m = maps.count(), h = maps.height(), w = maps.width(), n = h * w;
        if (m < 2) return LossTerm.zero(m);
        double[] self = maps.maps().self();
        GaussianSmoothing g = maps.smoothing();
        double[][] rows = new double[n][]; // smoothed self rows of every masked pixel, computed once
        boolean[][] masks = new boolean[m][];
        double[][] agg = new double[m][];
        for (int s = 0; s < m; s++) {
            double[] c = maps.smoothed(s);
            masks[s] = Otsu.mask(c);
            agg[s] = new double[n];
            for (int p = 0; p < n; p++) {
                if (!masks[s][p]) continue;
                if (rows[p] == null) rows[p] = smoothSelf ? g.apply(row(self, p, n), h, w) : row(self, p, n);
                for (int q = 0; q < n; q++) agg[s][q] += c[p] * rows[p][q];
            }
        }
        boolean normaliseCross = h > 16;
        double[][] a = new double[m][], b = new double[m][];
        double[] aSum = new double[m], bSum = new double[m];
        for (int s = 0; s < m; s++) {
            aSum[s] = sum(agg[s]) + eps;
            a[s] = scaled(agg[s], 1 / aSum[s]);
            bSum[s] = normaliseCross ? sum(maps.smoothed(s)) + eps : 1;
            b[s] = normaliseCross ? scaled(maps.smoothed(s), 1 / bSum[s]) : maps.smoothed(s);
        }
        int pairs = m * (m - 1);
        double loss = 0;
        double[][] dA = new double[m][n], dB = new double[m][n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) {
                if (i == j) continue;
                for (int q = 0; q < n; q++) {
                    double x = a[j][q], y = b[i][q];
                    loss += Math.min(x, y) / pairs;
                    if (x < y) dA[j][q] += 1.0 / pairs;
                    else if (y < x) dB[i][q] += 1.0 / pairs;
                    else {
                        dA[j][q] += 0.5 / pairs;
                        dB[i][q] += 0.5 / pairs;
                    }
                }
            }
        double[][] dC = new double[m][];
        double[][] dRow = new double[n][];
        for (int s = 0; s < m; s++) {
            dC[s] = normaliseCross ? normaliserBackward(dB[s], b[s], bSum[s]) : dB[s];
            double[] dAgg = normaliserBackward(dA[s], a[s], aSum[s]);
            double[] c = maps.smoothed(s);
            for (int p = 0; p < n; p++) {
                if (!masks[s][p]) continue;
                double dot = 0;
                for (int q = 0; q < n; q++) dot += dAgg[q] * rows[p][q];
                dC[s][p] += dot;
                if (dRow[p] == null) dRow[p] = new double[n];
                for (int q = 0; q < n; q++) dRow[p][q] += c[p] * dAgg[q];
            }
        }
        double[] dSelf = new double[n * n];
        for (int p = 0; p < n; p++) {
            if (dRow[p] == null) continue;
            double[] d = smoothSelf ? g.adjoint(dRow[p], h, w) : dRow[p];
            System.arraycopy(d, 0, dSelf, p * n, n);
        }
        return new LossTerm(loss, dC, dSelf);
    }

    /** For {@code y = x / (sum x + eps)} (y and the denominator given): dL/dx from dL/dy. */
    private static double[] normaliserBackward(double[] dy, double[] y, double denom) {
        double dot = 0;
        for (int q = 0; q < dy.length; q++) dot += dy[q] * y[q];
        double[] dx = new double[dy.length];
        for (int q = 0; q < dy.length; q++) dx[q] = (dy[q] - dot) / denom;
        return dx;
    }

    private static double[] row(double[] self, int p, int n) {
        double[] r = new double[n];
        System.arraycopy(self, p * n, r, 0, n);
        return r;
    }

    private static double sum(double[] v) {
        double s = 0;
        for (double x : v) s += x;
        return s;
    }

    private static double[] scaled(double[] v, double k) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i] * k;
        return out;
    }
}
