package dev.diffuse4j.attention.guidance;

/**
 * Self-Cross guidance on top of INITNO, during denoising, as the authors' {@code fn_augmented_compute_losss}
 * computes it: response loss with top-K mean (K = 16 in their runs), clean loss, EMA alignment loss
 * (alpha 0.9 over token-softmaxed maps, cached across calls) and the Self-Cross loss with eps 1e-4,
 * zeroed while the response loss is above 0.5.
 * <ul>
 *   <li>update = {@code L_ce + 0.1 L_clean + L_sc} (the per-step latent update and the thresholds)</li>
 *   <li>refine = {@code L_ce + 0.1 L_clean + 0.1 L_align + L_sc} (the iterative-refinement updates)</li>
 * </ul>
 */
public final class SelfCrossObjective implements GuidanceObjective {
    public static final int DEFAULT_TOP_K = 16;
    public static final double GATE = 0.5, CLEAN_WEIGHT = 0.1, ALIGN_WEIGHT = 0.1, EMA = 0.9, EPS = 1e-4;

    private final int topK;
    private double[] cache;

    public SelfCrossObjective(int topK) {
        if (topK < 1) throw new IllegalArgumentException("top-K must be >= 1, got " + topK);
        this.topK = topK;
    }

    public SelfCrossObjective() { this(DEFAULT_TOP_K); }

    @Override
    public void reset() { cache = null; }

    @Override
    public Evaluation evaluate(GuidanceMaps maps, int[] subjects) {
        SubjectMaps s = SubjectMaps.of(maps, subjects);
        double[] p = s.probs();
        if (cache == null || cache.length != p.length) cache = p.clone();
        else for (int i = 0; i < p.length; i++) cache[i] = cache[i] * EMA + p[i] * (1 - EMA);
        return evaluate(s, cache, topK);
    }

    /** The EMA cache after the last evaluation (null before the first). */
    double[] cache() { return cache == null ? null : cache.clone(); }

    /** The objective against a given (already updated) EMA cache, a constant for the gradient. */
    static Evaluation evaluate(SubjectMaps s, double[] cache, int topK) {
        LossTerm response = ResponseLoss.of(s, Math.min(topK, s.maps().pixels()));
        LossTerm clean = CleanLoss.of(s);
        LossTerm align = AlignmentLoss.of(s, cache);
        LossTerm selfCross = SelfCrossLoss.of(s, EPS, true);
        if (response.value() > GATE) selfCross = selfCross.gatedOff();
        LossTerm update = LossTerm.sum(new double[]{1, CLEAN_WEIGHT, 1}, response, clean, selfCross);
        LossTerm refine = LossTerm.sum(new double[]{1, CLEAN_WEIGHT, ALIGN_WEIGHT, 1}, response, clean, align, selfCross);
        return new Evaluation(response.value(), clean.value(), align.value(), selfCross.value(),
                new Evaluation.Loss(update.value(), update.toMaps(s)), new Evaluation.Loss(refine.value(), refine.toMaps(s)));
    }
}
