package dev.diffuse4j.pipelines;

/** Progress of a generation: phases and sampling steps. */
public interface StepListener {
    /** A phase ("text encoder", "denoise", "vae decode") finished after {@code seconds}. */
    default void onPhase(String phase, double seconds) {}

    /** Sampling of {@code total} steps begins. */
    default void onStart(int total) {}

    /** Sampling step {@code done} of {@code total} finished. */
    default void onStep(int done, int total) {}

    /** A notice for the user (truncated prompt, fallback to F32 decode, tiled decode). */
    default void onWarning(String message) {}

    StepListener NONE = new StepListener() {};
}
