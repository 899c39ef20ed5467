package dev.diffuse4j.pipelines;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a guided generation does (see {@link SelfCrossPipeline}). Defaults are the authors' SD1.x
 * settings: step size {@code scaleFactor * sqrt(linspace(1, 0.5, steps)[i])} with scale factor 20,
 * updates in the first half of the steps (25 of 50), refinement at steps 10 and 20 (and 0 for A&E;
 * step numbers scale with the step count) for at most 20 iterations, top-16 response for Self-Cross,
 * the initial-noise stage (5 rounds of 10 Adam steps, then 50 from the best start) for Self-Cross only.
 *
 * @param method          Self-Cross (INITNO flavour) or plain Attend-and-Excite
 * @param subjectWords    subject words of the prompt, or null when indices are given
 * @param subjectIndices  1-based token positions of the subjects, or null when words are given
 * @param scaleFactor     step-size factor; 0 turns all guidance off (plain generation, bit for bit)
 * @param maxIterToAlter  number of first steps that update the latent; -1 = half the steps
 * @param topK            response loss: mean of the k largest attention values (Self-Cross; A&E uses 1)
 * @param initialNoise    run the INITNO initial-noise optimisation before sampling
 * @param maxRefinement   iteration cap of one iterative refinement
 * @param initnoRounds    initial-noise rounds with fresh noise before the final optimisation
 * @param initnoSteps     Adam steps per round
 * @param initnoFinalSteps Adam steps from the best round's noise when no round succeeded
 */
public record SelfCrossOptions(Method method, List<String> subjectWords, int[] subjectIndices, double scaleFactor, int maxIterToAlter,
                               int topK, boolean initialNoise, int maxRefinement, int initnoRounds, int initnoSteps, int initnoFinalSteps) {
    public enum Method {
        SELF_CROSS, ATTEND_AND_EXCITE;

        public static Method parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT).replace('_', '-')) {
                case "self-cross", "selfcross" -> SELF_CROSS;
                case "attend-and-excite", "ae", "a&e" -> ATTEND_AND_EXCITE;
                default -> throw new IllegalArgumentException("unknown guidance method '" + s + "': choose self-cross or attend-and-excite");
            };
        }

        public String cliName() { return this == SELF_CROSS ? "self-cross" : "attend-and-excite"; }
    }

    public SelfCrossOptions {
        if (method == null) throw new IllegalArgumentException("a guidance method is required");
        if ((subjectWords == null) == (subjectIndices == null))
            throw new IllegalArgumentException("give the subjects either as words or as token indices");
        if (subjectWords != null) subjectWords = List.copyOf(subjectWords);
        if (subjectIndices != null) subjectIndices = subjectIndices.clone();
        if (!(scaleFactor >= 0) || Double.isInfinite(scaleFactor)) throw new IllegalArgumentException("guidance scale factor must be >= 0, got " + scaleFactor);
        if (maxIterToAlter < -1) throw new IllegalArgumentException("max iterations to alter must be >= 0 (or -1 for half the steps), got " + maxIterToAlter);
        if (topK < 1) throw new IllegalArgumentException("top-K must be >= 1, got " + topK);
        if (maxRefinement < 0) throw new IllegalArgumentException("max refinement iterations must be >= 0, got " + maxRefinement);
        if (initnoRounds < 1 || initnoSteps < 1 || initnoFinalSteps < 0)
            throw new IllegalArgumentException("initial-noise rounds and steps must be >= 1, got " + initnoRounds + " rounds of " + initnoSteps);
    }

    public static Builder builder(Method method) { return new Builder(method); }

    @Override
    public int[] subjectIndices() { return subjectIndices == null ? null : subjectIndices.clone(); }

    /** Whether any guidance runs (a scale factor of 0 means plain generation). */
    public boolean enabled() { return scaleFactor > 0; }

    /** Steps (of {@code steps}) whose update is preceded by a refinement, with the attention threshold it must reach. */
    public Map<Integer, Double> refinementThresholds(int steps) {
        Map<Integer, Double> authors = method == Method.SELF_CROSS ? Map.of(10, 0.8, 20, 0.8) : Map.of(0, 0.05, 10, 0.5, 20, 0.8);
        Map<Integer, Double> out = new TreeMap<>();
        new TreeMap<>(authors).forEach((k, thr) -> out.put((int) Math.round(k * steps / 50.0), thr));
        return out;
    }

    /** The self-cross target of a refinement (infinite for A&E: it has no such term). */
    public double selfCrossTarget() { return method == Method.SELF_CROSS ? 0.3 : Double.POSITIVE_INFINITY; }

    /** The steps that update the latent. */
    public int stepsToAlter(int steps) { return maxIterToAlter < 0 ? steps / 2 : Math.min(maxIterToAlter, steps); }

    /** {@code scaleFactor * sqrt(linspace(1.0, 0.5, steps)[i])}. */
    public double stepSize(int i, int steps) {
        double frac = steps == 1 ? 1.0 : 1.0 - 0.5 * i / (steps - 1);
        return scaleFactor * Math.sqrt(frac);
    }

    public static final class Builder {
        private final Method method;
        private List<String> words;
        private int[] indices;
        private double scaleFactor = 20;
        private int maxIterToAlter = -1, topK, maxRefinement = 20, initnoRounds = 5, initnoSteps = 10, initnoFinalSteps = 50;
        private Boolean initialNoise;

        private Builder(Method method) {
            this.method = method;
            this.topK = method == Method.SELF_CROSS ? 16 : 1;
        }

        public Builder subjects(List<String> v) { words = v; indices = null; return this; }
        public Builder subjectIndices(int... v) { indices = v; words = null; return this; }
        public Builder scaleFactor(double v) { scaleFactor = v; return this; }
        public Builder maxIterToAlter(int v) { maxIterToAlter = v; return this; }
        public Builder topK(int v) { topK = v; return this; }
        public Builder initialNoise(boolean v) { initialNoise = v; return this; }
        public Builder maxRefinement(int v) { maxRefinement = v; return this; }
        public Builder initno(int rounds, int steps, int finalSteps) { initnoRounds = rounds; initnoSteps = steps; initnoFinalSteps = finalSteps; return this; }

        public SelfCrossOptions build() {
            boolean init = initialNoise != null ? initialNoise : method == Method.SELF_CROSS;
            return new SelfCrossOptions(method, words, indices, scaleFactor, maxIterToAlter, topK, init, maxRefinement, initnoRounds, initnoSteps, initnoFinalSteps);
        }
    }
}
