package dev.diffuse4j.pipelines;

/**
 * One evaluation of the guidance objective, for progress displays and logs.
 *
 * @param stage     initial-noise optimisation, per-step update, or iterative refinement
 * @param step      sampling step (0-based; the round for the initial-noise stage)
 * @param iteration iteration within the stage (0 for the per-step update)
 * @param loss      the value the stage descends
 * @param response  the A&E response loss (max over subjects of 1 - top-k attention)
 * @param selfCross the Self-Cross overlap loss (0 for Attend-and-Excite and while gated)
 */
public record GuidanceEvent(Stage stage, int step, int iteration, double loss, double response, double selfCross) {
    public enum Stage { INITIAL_NOISE, UPDATE, REFINE }
}
