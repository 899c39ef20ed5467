package dev.diffuse4j.attention.guidance;

/**
 * INITNO/Self-Cross's temporal alignment loss: per subject the mean absolute difference between its
 * smoothed map and the smoothed map of an exponential moving average of earlier token-softmaxed
 * maps (a constant), summed over subjects.
 */
public final class AlignmentLoss {
    private AlignmentLoss() {}

    /** @param cache the EMA of token-softmaxed maps [h*w, kept tokens] (same layout as {@link SubjectMaps#probs()}) */
    public static LossTerm of(SubjectMaps maps, double[] cache) {
        int h = maps.height(), w = maps.width(), n = h * w;
        double loss = 0;
        double[][] d = new double[maps.count()][];
        for (int s = 0; s < maps.count(); s++) {
            double[] c = maps.smoothed(s);
            double[] ref = maps.smoothing().apply(maps.column(cache, maps.subjectColumn(s)), h, w);
            d[s] = new double[n];
            for (int i = 0; i < n; i++) {
                double diff = c[i] - ref[i];
                loss += Math.abs(diff) / n;
                d[s][i] = Math.signum(diff) / n;
            }
        }
        return new LossTerm(loss, d, null);
    }
}
