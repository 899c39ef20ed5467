package dev.diffuse4j.attention.guidance;

/**
 * Attend-and-Excite (Chefer et al., 2023): {@code L = max_s (1 - max(smooth(softmax100(cross))_s))},
 * the same loss for the per-step update and the refinement.
 */
public final class AttendExciteObjective implements GuidanceObjective {
    @Override
    public Evaluation evaluate(GuidanceMaps maps, int[] subjects) {
        SubjectMaps s = SubjectMaps.of(maps, subjects);
        LossTerm response = ResponseLoss.of(s, 1);
        Evaluation.Loss loss = new Evaluation.Loss(response.value(), response.toMaps(s));
        return new Evaluation(response.value(), 0, 0, 0, loss, loss);
    }
}
