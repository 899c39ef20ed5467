package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.StepContext;

import java.util.function.Predicate;

/** Step selectors over {@link StepContext}: "the first N steps", "steps with t >= lambda_T * 1000". */
public final class Steps {
    private Steps() {}

    public static Predicate<StepContext> all() { return s -> true; }

    /** Steps 0..n-1 of the sampling loop (passes outside a loop never match). */
    public static Predicate<StepContext> first(int n) { return s -> s.inLoop() && s.step() < n; }

    /** Steps n.. of the sampling loop. */
    public static Predicate<StepContext> from(int n) { return s -> s.inLoop() && s.step() >= n; }

    /**
     * The high-noise steps whose timestep is at least {@code lambda * trainTimesteps} (Conditional
     * Balance's structure schedule: ControlNet acts while t >= lambda_T * 1000).
     */
    public static Predicate<StepContext> timestepAtLeast(double lambda, int trainTimesteps) {
        double threshold = (int) (lambda * trainTimesteps);
        return s -> !Double.isNaN(s.timestep()) && s.timestep() >= threshold;
    }
}
