package dev.diffuse4j.attention.guidance;

/**
 * The per-subject cross-attention maps every loss of the family starts from: the token softmax of the
 * cross maps ({@link TokenSoftmax}, x100, start token and the tokens from {@code end} on dropped), the
 * column of each subject token, Gaussian-smoothed. {@link #gradient} pulls a gradient wrt those
 * smoothed maps (and wrt the self map) back to the raw {@link GuidanceMaps}.
 */
public final class SubjectMaps {
    private final GuidanceMaps maps;
    private final int[] subjects;
    private final int end, kept;
    private final double[] probs;
    private final double[][] smoothed;
    private final GaussianSmoothing smoothing;

    private SubjectMaps(GuidanceMaps maps, int[] subjects, int end, GaussianSmoothing smoothing) {
        this.maps = maps;
        this.subjects = subjects.clone();
        this.end = end;
        this.kept = end - 1;
        this.smoothing = smoothing;
        this.probs = TokenSoftmax.forward(maps.cross(), maps.pixels(), maps.tokens(), end, TokenSoftmax.DEFAULT_SCALE);
        this.smoothed = new double[subjects.length][];
        for (int s = 0; s < subjects.length; s++) smoothed[s] = smoothing.apply(column(probs, subjects[s] - 1), maps.height(), maps.width());
    }

    /**
     * @param subjects text-token positions (1-based CLIP positions: "a cat and a frog" -> 2, 5)
     * @param end      first dropped token column (tokens - 1 for SD1.x: only the last token is dropped)
     */
    public static SubjectMaps of(GuidanceMaps maps, int[] subjects, int end, GaussianSmoothing smoothing) {
        if (subjects.length == 0) throw new IllegalArgumentException("guidance needs at least one subject token");
        for (int t : subjects)
            if (t < 1 || t >= end)
                throw new IllegalArgumentException("subject token index " + t + " is outside the guided tokens 1.." + (end - 1));
        return new SubjectMaps(maps, subjects, end, smoothing);
    }

    /** SD1.x conventions: only the last of the tokens dropped, the default kernel. */
    public static SubjectMaps of(GuidanceMaps maps, int[] subjects) { return of(maps, subjects, maps.tokens() - 1, GaussianSmoothing.DEFAULT); }

    public GuidanceMaps maps() { return maps; }

    public int count() { return subjects.length; }

    public int height() { return maps.height(); }

    public int width() { return maps.width(); }

    public GaussianSmoothing smoothing() { return smoothing; }

    /** Smoothed map of subject s [h*w] (do not modify). */
    public double[] smoothed(int s) { return smoothed[s]; }

    /** Token-softmaxed (unsmoothed) probabilities [h*w, end - 1]. */
    public double[] probs() { return probs; }

    /** Column {@code c} of the token-softmaxed probabilities. */
    public double[] column(double[] p, int c) {
        double[] out = new double[maps.pixels()];
        for (int i = 0; i < out.length; i++) out[i] = p[i * kept + c];
        return out;
    }

    public int subjectColumn(int s) { return subjects[s] - 1; }

    /** dLoss/dMaps given dLoss/d(smoothed subject maps) [subjects][h*w] and dLoss/d(self map) (may be null). */
    public MapGradient gradient(double[][] dSmoothed, double[] dSelf) {
        int n = maps.pixels();
        double[] dProbs = new double[n * kept];
        for (int s = 0; s < subjects.length; s++) {
            if (dSmoothed[s] == null) continue;
            double[] d = smoothing.adjoint(dSmoothed[s], maps.height(), maps.width());
            int c = subjects[s] - 1;
            for (int i = 0; i < n; i++) dProbs[i * kept + c] += d[i];
        }
        double[] dCross = TokenSoftmax.backward(probs, dProbs, n, maps.tokens(), end, TokenSoftmax.DEFAULT_SCALE);
        return new MapGradient(dCross, dSelf == null ? new double[n * n] : dSelf);
    }
}
