package dev.diffuse4j.pipelines;

/** Progress of a guided generation: the sampling steps and every evaluation of the guidance loss. */
public interface GuidanceListener extends StepListener {
    default void onGuidance(GuidanceEvent event) {}

    GuidanceListener NONE = new GuidanceListener() {};

    /** A plain step listener that ignores guidance events. */
    static GuidanceListener of(StepListener l) {
        if (l instanceof GuidanceListener g) return g;
        return new GuidanceListener() {
            @Override public void onPhase(String phase, double seconds) { l.onPhase(phase, seconds); }
            @Override public void onStart(int total) { l.onStart(total); }
            @Override public void onStep(int done, int total) { l.onStep(done, total); }
            @Override public void onWarning(String message) { l.onWarning(message); }
        };
    }
}
