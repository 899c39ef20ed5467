package dev.diffuse4j.attention.guidance;

/**
 * A latent-guidance objective of the Attend-and-Excite family, evaluated on the head/layer-averaged
 * maps of one cond-only forward pass. Objectives may keep state across the evaluations of one image
 * (the EMA cache of {@link SelfCrossObjective}); {@link #reset} starts a new image.
 */
public interface GuidanceObjective {
    /** @param subjects 1-based text-token positions of the subjects */
    Evaluation evaluate(GuidanceMaps maps, int[] subjects);

    default void reset() {}
}
