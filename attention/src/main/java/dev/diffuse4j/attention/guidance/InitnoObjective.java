package dev.diffuse4j.attention.guidance;

/**
 * The objective of the initial-noise stage (INITNO with Self-Cross replacing INITNO's self-attention
 * conflict term), as the authors' {@code fn_compute_loss}: {@code L_ce + L_clean + L_sc} with the
 * Self-Cross normalisers taken without eps and the term zeroed while {@code L_ce > 0.5}. The stage
 * succeeds when {@code L_ce < 0.2} and {@code L_sc < 0.3}.
 */
public final class InitnoObjective implements GuidanceObjective {
    private final int topK;

    public InitnoObjective(int topK) {
        if (topK < 1) throw new IllegalArgumentException("top-K must be >= 1, got " + topK);
        this.topK = topK;
    }

    @Override
    public Evaluation evaluate(GuidanceMaps maps, int[] subjects) {
        SubjectMaps s = SubjectMaps.of(maps, subjects);
        LossTerm response = ResponseLoss.of(s, Math.min(topK, maps.pixels()));
        LossTerm clean = CleanLoss.of(s);
        LossTerm selfCross = SelfCrossLoss.of(s, 0, true);
        if (response.value() > SelfCrossObjective.GATE) selfCross = selfCross.gatedOff();
        LossTerm joint = LossTerm.sum(new double[]{1, 1, 1}, response, clean, selfCross);
        Evaluation.Loss loss = new Evaluation.Loss(joint.value(), joint.toMaps(s));
        return new Evaluation(response.value(), clean.value(), 0, selfCross.value(), loss, loss);
    }
}
