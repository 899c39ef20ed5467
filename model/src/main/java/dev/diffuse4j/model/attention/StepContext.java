package dev.diffuse4j.model.attention;

/**
 * Which sampling step a forward pass belongs to; set by the pipeline for each model call and handed
 * to every {@link AttentionProcessor} (methods act on "the first N steps" or look up per-timestep data).
 *
 * @param step      0-based index of the step in the sampling loop, or -1 outside a loop
 * @param numSteps  number of steps of the loop, or 0 when unknown
 * @param timestep  the scheduler timestep of this call (e.g. 981), or NaN when unknown
 */
public record StepContext(int step, int numSteps, double timestep) {
    /** A forward pass outside any sampling loop. */
    public static final StepContext NONE = new StepContext(-1, 0, Double.NaN);

    public static StepContext of(int step, int numSteps, double timestep) { return new StepContext(step, numSteps, timestep); }

    public boolean inLoop() { return step >= 0; }
}
