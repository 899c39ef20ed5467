package dev.diffuse4j.schedulers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * The settings of a diffusers {@code scheduler_config.json} that the schedulers here use. Defaults are
 * those of the diffusers constructors; the one setting whose default differs between classes,
 * {@link #timestepSpacing()}, is {@code null} when absent and resolved by each scheduler (see
 * {@link TimestepSpacing}). {@code setAlphaToOne} and {@code clipSample} exist only on DDIM and are likewise
 * {@code null} when absent (DDIM's default for both is {@code true}; SD's files set both to {@code false}).
 *
 * <p>Keys this project does not implement are refused when set to a non-default value (thresholding,
 * zero-SNR rescaling, exponential/beta/Lu/flow sigmas, log-linear interpolation, continuous timesteps,
 * learned variance, SDE or third-order DPM solvers) rather than silently ignored.
 *
 * @param className         {@code _class_name}, informational (may be null)
 * @param numTrainTimesteps T, the number of training timesteps
 * @param betaStart         first beta of the schedule
 * @param betaEnd           last beta of the schedule
 * @param betaSchedule      layout of the betas
 * @param trainedBetas      explicit betas overriding the schedule (null if none)
 * @param predictionType    what the model predicts
 * @param timestepSpacing   inference timestep layout, null for the scheduler class's default
 * @param stepsOffset       added to "leading" timesteps
 * @param setAlphaToOne     DDIM: abar before step 0 is 1 (true) or abar_0 (false); null for DDIM's default (true)
 * @param clipSample        DDIM: clamp the x0 estimate to +-clipSampleRange; null for DDIM's default (true)
 * @param clipSampleRange   clamp bound for clipSample
 * @param finalSigmasType   where Euler / DPM-Solver++ end
 * @param lowerOrderFinal   DPM-Solver++: first order on the last step when fewer than 15 steps
 * @param eulerAtFinal      DPM-Solver++: always first order on the last step
 * @param useKarrasSigmas   Euler / DPM-Solver++: Karras et al. (2022) sigma spacing
 * @param sigmaMin          Euler Karras: override of the smallest sigma (null: the schedule's)
 * @param sigmaMax          Euler Karras: override of the largest sigma (null: the schedule's)
 * @param solverOrder       DPM-Solver++: 1 or 2
 * @param solverType        DPM-Solver++ second-order update: "midpoint" or "heun"
 * @param lambdaMinClipped  DPM-Solver++: timesteps whose log-SNR is below this are not used
 */
public record SchedulerConfig(
        String className,
        int numTrainTimesteps,
        double betaStart,
        double betaEnd,
        BetaSchedule betaSchedule,
        double[] trainedBetas,
        PredictionType predictionType,
        TimestepSpacing timestepSpacing,
        int stepsOffset,
        Boolean setAlphaToOne,
        Boolean clipSample,
        double clipSampleRange,
        FinalSigmas finalSigmasType,
        boolean lowerOrderFinal,
        boolean eulerAtFinal,
        boolean useKarrasSigmas,
        Double sigmaMin,
        Double sigmaMax,
        int solverOrder,
        String solverType,
        double lambdaMinClipped) {

    public SchedulerConfig {
        Objects.requireNonNull(betaSchedule, "betaSchedule");
        Objects.requireNonNull(predictionType, "predictionType");
        Objects.requireNonNull(finalSigmasType, "finalSigmasType");
        Objects.requireNonNull(solverType, "solverType");
        if (numTrainTimesteps < 2) throw bad("num_train_timesteps", numTrainTimesteps, "must be at least 2");
        if (trainedBetas != null) {
            if (trainedBetas.length != numTrainTimesteps)
                throw bad("trained_betas", trainedBetas.length + " values", "must have num_train_timesteps = " + numTrainTimesteps + " entries");
            trainedBetas = trainedBetas.clone();
            for (double b : trainedBetas) if (!(b > 0 && b < 1)) throw bad("trained_betas", b, "every beta must lie in (0, 1)");
        } else if (!(betaStart > 0 && betaEnd > 0 && betaStart < 1 && betaEnd < 1)) {
            throw bad("beta_start/beta_end", betaStart + "/" + betaEnd, "must lie in (0, 1)");
        }
        if (stepsOffset < 0) throw bad("steps_offset", stepsOffset, "must be >= 0");
        if (!(clipSampleRange > 0)) throw bad("clip_sample_range", clipSampleRange, "must be > 0");
        if (solverOrder != 1 && solverOrder != 2) throw bad("solver_order", solverOrder, "only 1 and 2 (DPM-Solver++ 2M) are implemented");
        if (!solverType.equals("midpoint") && !solverType.equals("heun")) throw bad("solver_type", solverType, "must be midpoint or heun");
        if (sigmaMin != null && !(sigmaMin > 0)) throw bad("sigma_min", sigmaMin, "must be > 0");
        if (sigmaMax != null && !(sigmaMax > 0)) throw bad("sigma_max", sigmaMax, "must be > 0");
        if (Double.isNaN(lambdaMinClipped)) throw bad("lambda_min_clipped", lambdaMinClipped, "must be a number or -inf");
    }

    @Override
    public double[] trainedBetas() { return trainedBetas == null ? null : trainedBetas.clone(); }

    /** Value equality, comparing trained betas by content. */
    @Override
    public boolean equals(Object o) {
        return o instanceof SchedulerConfig c && Objects.equals(className, c.className) && numTrainTimesteps == c.numTrainTimesteps
                && Double.compare(betaStart, c.betaStart) == 0 && Double.compare(betaEnd, c.betaEnd) == 0 && betaSchedule == c.betaSchedule
                && Arrays.equals(trainedBetas, c.trainedBetas) && predictionType == c.predictionType
                && timestepSpacing == c.timestepSpacing && stepsOffset == c.stepsOffset && Objects.equals(setAlphaToOne, c.setAlphaToOne)
                && Objects.equals(clipSample, c.clipSample) && Double.compare(clipSampleRange, c.clipSampleRange) == 0
                && finalSigmasType == c.finalSigmasType && lowerOrderFinal == c.lowerOrderFinal && eulerAtFinal == c.eulerAtFinal
                && useKarrasSigmas == c.useKarrasSigmas && Objects.equals(sigmaMin, c.sigmaMin) && Objects.equals(sigmaMax, c.sigmaMax)
                && solverOrder == c.solverOrder && solverType.equals(c.solverType) && Double.compare(lambdaMinClipped, c.lambdaMinClipped) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(className, numTrainTimesteps, betaStart, betaEnd, betaSchedule, Arrays.hashCode(trainedBetas), predictionType,
                timestepSpacing, stepsOffset, setAlphaToOne, clipSample, clipSampleRange, finalSigmasType, lowerOrderFinal, eulerAtFinal,
                useKarrasSigmas, sigmaMin, sigmaMax, solverOrder, solverType, lambdaMinClipped);
    }

    /** The spacing to use: the file's, or {@code classDefault} when the file has none. */
    public TimestepSpacing timestepSpacingOr(TimestepSpacing classDefault) {
        return timestepSpacing != null ? timestepSpacing : classDefault;
    }

    /** DDIM's set_alpha_to_one, defaulting to true as in {@code DDIMScheduler}. */
    public boolean setAlphaToOneOrDefault() { return setAlphaToOne == null || setAlphaToOne; }

    /** DDIM's clip_sample, defaulting to true as in {@code DDIMScheduler}. */
    public boolean clipSampleOrDefault() { return clipSample == null || clipSample; }

    // ------------------------------------------------------------------ presets

    /** The diffusers constructor defaults (linear 1e-4 .. 0.02 over 1000 steps, epsilon). */
    public static SchedulerConfig defaults() { return builder().build(); }

    /**
     * Stable Diffusion 1.5's {@code scheduler/scheduler_config.json} (written for PNDM by diffusers 0.6):
     * scaled_linear 0.00085 .. 0.012, steps_offset 1, set_alpha_to_one false, clip_sample false, and no
     * timestep_spacing key, so DDIM uses "leading" and Euler / DPM-Solver++ "linspace".
     */
    public static SchedulerConfig stableDiffusion15() {
        return builder().className("PNDMScheduler").betaStart(0.00085).betaEnd(0.012).betaSchedule(BetaSchedule.SCALED_LINEAR)
                .stepsOffset(1).setAlphaToOne(false).clipSample(false).build();
    }

    /** SDXL base's {@code scheduler_config.json} (EulerDiscreteScheduler): as SD 1.5 plus timestep_spacing "leading". */
    public static SchedulerConfig stableDiffusionXl() {
        return stableDiffusion15().toBuilder().className("EulerDiscreteScheduler").timestepSpacing(TimestepSpacing.LEADING).build();
    }

    // ------------------------------------------------------------------ JSON

    /** Reads a diffusers {@code scheduler_config.json}. */
    public static SchedulerConfig read(Path file) {
        try {
            return parse(Files.readString(file), file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read scheduler config " + file + ": " + e.getMessage(), e);
        }
    }

    /** Parses the JSON text of a {@code scheduler_config.json}; {@code source} names it in error messages. */
    public static SchedulerConfig parse(String json, String source) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException(source + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) throw new IllegalArgumentException(source + ": a scheduler config must be a JSON object");
        Json j = new Json(root, source);
        j.refuseUnless("thresholding", false);
        j.refuseUnless("rescale_betas_zero_snr", false);
        j.refuseUnless("use_exponential_sigmas", false);
        j.refuseUnless("use_beta_sigmas", false);
        j.refuseUnless("use_lu_lambdas", false);
        j.refuseUnless("use_flow_sigmas", false);
        j.refuseUnless("use_dynamic_shifting", false);
        j.refuseUnlessText("interpolation_type", "linear");
        j.refuseUnlessText("timestep_type", "discrete");
        j.refuseUnlessText("algorithm_type", "dpmsolver++", "deis"); // diffusers maps deis to dpmsolver++
        j.refuseUnlessNull("variance_type");

        try {
            return fromJson(j);
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith(source) ? e : new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    private static SchedulerConfig fromJson(Json j) {
        Builder b = builder();
        b.className(j.text("_class_name", null));
        b.numTrainTimesteps(j.integer("num_train_timesteps", 1000));
        b.betaStart(j.number("beta_start", 0.0001));
        b.betaEnd(j.number("beta_end", 0.02));
        b.betaSchedule(BetaSchedule.fromKey(j.text("beta_schedule", "linear")));
        b.trainedBetas(j.numbers("trained_betas"));
        b.predictionType(PredictionType.fromKey(j.text("prediction_type", "epsilon")));
        String spacing = j.text("timestep_spacing", null);
        b.timestepSpacing(spacing == null ? null : TimestepSpacing.fromKey(spacing));
        b.stepsOffset(j.integer("steps_offset", 0));
        b.setAlphaToOne(j.bool("set_alpha_to_one"));
        b.clipSample(j.bool("clip_sample"));
        b.clipSampleRange(j.number("clip_sample_range", 1.0));
        b.finalSigmasType(FinalSigmas.fromKey(j.text("final_sigmas_type", "zero")));
        b.lowerOrderFinal(j.boolOr("lower_order_final", true));
        b.eulerAtFinal(j.boolOr("euler_at_final", false));
        b.useKarrasSigmas(j.boolOr("use_karras_sigmas", false));
        b.sigmaMin(j.optionalNumber("sigma_min"));
        b.sigmaMax(j.optionalNumber("sigma_max"));
        b.solverOrder(j.integer("solver_order", 2));
        String solverType = j.text("solver_type", "midpoint");
        // diffusers maps the UniPC/DEIS names to midpoint
        b.solverType(solverType.equals("logrho") || solverType.equals("bh1") || solverType.equals("bh2") ? "midpoint" : solverType);
        b.lambdaMinClipped(j.number("lambda_min_clipped", Double.NEGATIVE_INFINITY));
        return b.build();
    }

    private static IllegalArgumentException bad(String key, Object value, String why) {
        return new IllegalArgumentException("scheduler config: " + key + " = " + value + " " + why);
    }

    /** Typed access to the JSON keys with the file name in every message. */
    private record Json(JsonNode root, String source) {
        JsonNode get(String key) {
            JsonNode n = root.get(key);
            return n == null || n.isNull() ? null : n;
        }

        IllegalArgumentException wrong(String key, JsonNode n, String expected) {
            return new IllegalArgumentException(source + ": " + key + " = " + n + " should be " + expected);
        }

        String text(String key, String dflt) {
            JsonNode n = get(key);
            if (n == null) return dflt;
            if (!n.isTextual()) throw wrong(key, n, "a string");
            return n.asText();
        }

        double number(String key, double dflt) {
            Double v = optionalNumber(key);
            return v == null ? dflt : v;
        }

        Double optionalNumber(String key) {
            JsonNode n = get(key);
            if (n == null) return null;
            if (n.isNumber()) return n.asDouble();
            if (n.isTextual() && n.asText().equals("-inf")) return Double.NEGATIVE_INFINITY;
            throw wrong(key, n, "a number");
        }

        int integer(String key, int dflt) {
            JsonNode n = get(key);
            if (n == null) return dflt;
            if (!n.isIntegralNumber() || !n.canConvertToInt()) throw wrong(key, n, "an integer");
            return n.asInt();
        }

        Boolean bool(String key) {
            JsonNode n = get(key);
            if (n == null) return null;
            if (!n.isBoolean()) throw wrong(key, n, "true or false");
            return n.asBoolean();
        }

        boolean boolOr(String key, boolean dflt) {
            Boolean v = bool(key);
            return v == null ? dflt : v;
        }

        double[] numbers(String key) {
            JsonNode n = get(key);
            if (n == null) return null;
            if (!n.isArray()) throw wrong(key, n, "an array of numbers");
            double[] out = new double[n.size()];
            for (int i = 0; i < out.length; i++) {
                if (!n.get(i).isNumber()) throw wrong(key + "[" + i + "]", n.get(i), "a number");
                out[i] = n.get(i).asDouble();
            }
            return out;
        }

        void refuseUnless(String key, boolean supported) {
            Boolean v = bool(key);
            if (v != null && v != supported)
                throw new IllegalArgumentException(source + ": " + key + " = " + v + " is not supported by diffuse4j's schedulers");
        }

        void refuseUnlessText(String key, String... supported) {
            String v = text(key, null);
            if (v == null) return;
            for (String s : supported) if (s.equals(v)) return;
            throw new IllegalArgumentException(source + ": " + key + " = \"" + v + "\" is not supported by diffuse4j's schedulers (supported: "
                    + String.join(", ", supported) + ")");
        }

        void refuseUnlessNull(String key) {
            JsonNode n = get(key);
            if (n != null) throw new IllegalArgumentException(source + ": " + key + " = " + n + " is not supported by diffuse4j's schedulers");
        }
    }

    // ------------------------------------------------------------------ builder

    public static Builder builder() { return new Builder(); }

    public Builder toBuilder() {
        return new Builder().className(className).numTrainTimesteps(numTrainTimesteps).betaStart(betaStart).betaEnd(betaEnd)
                .betaSchedule(betaSchedule).trainedBetas(trainedBetas).predictionType(predictionType).timestepSpacing(timestepSpacing)
                .stepsOffset(stepsOffset).setAlphaToOne(setAlphaToOne).clipSample(clipSample).clipSampleRange(clipSampleRange)
                .finalSigmasType(finalSigmasType).lowerOrderFinal(lowerOrderFinal).eulerAtFinal(eulerAtFinal)
                .useKarrasSigmas(useKarrasSigmas).sigmaMin(sigmaMin).sigmaMax(sigmaMax).solverOrder(solverOrder)
                .solverType(solverType).lambdaMinClipped(lambdaMinClipped);
    }

    /** Mutable builder starting from the diffusers defaults. */
    public static final class Builder {
        private String className;
        private int numTrainTimesteps = 1000;
        private double betaStart = 0.0001, betaEnd = 0.02;
        private BetaSchedule betaSchedule = BetaSchedule.LINEAR;
        private double[] trainedBetas;
        private PredictionType predictionType = PredictionType.EPSILON;
        private TimestepSpacing timestepSpacing;
        private int stepsOffset;
        private Boolean setAlphaToOne, clipSample;
        private double clipSampleRange = 1.0;
        private FinalSigmas finalSigmasType = FinalSigmas.ZERO;
        private boolean lowerOrderFinal = true, eulerAtFinal, useKarrasSigmas;
        private Double sigmaMin, sigmaMax;
        private int solverOrder = 2;
        private String solverType = "midpoint";
        private double lambdaMinClipped = Double.NEGATIVE_INFINITY;

        private Builder() {}

        public Builder className(String v) { className = v; return this; }
        public Builder numTrainTimesteps(int v) { numTrainTimesteps = v; return this; }
        public Builder betaStart(double v) { betaStart = v; return this; }
        public Builder betaEnd(double v) { betaEnd = v; return this; }
        public Builder betaSchedule(BetaSchedule v) { betaSchedule = v; return this; }
        public Builder trainedBetas(double[] v) { trainedBetas = v == null ? null : v.clone(); return this; }
        public Builder predictionType(PredictionType v) { predictionType = v; return this; }
        public Builder timestepSpacing(TimestepSpacing v) { timestepSpacing = v; return this; }
        public Builder stepsOffset(int v) { stepsOffset = v; return this; }
        public Builder setAlphaToOne(Boolean v) { setAlphaToOne = v; return this; }
        public Builder clipSample(Boolean v) { clipSample = v; return this; }
        public Builder clipSampleRange(double v) { clipSampleRange = v; return this; }
        public Builder finalSigmasType(FinalSigmas v) { finalSigmasType = v; return this; }
        public Builder lowerOrderFinal(boolean v) { lowerOrderFinal = v; return this; }
        public Builder eulerAtFinal(boolean v) { eulerAtFinal = v; return this; }
        public Builder useKarrasSigmas(boolean v) { useKarrasSigmas = v; return this; }
        public Builder sigmaMin(Double v) { sigmaMin = v; return this; }
        public Builder sigmaMax(Double v) { sigmaMax = v; return this; }
        public Builder solverOrder(int v) { solverOrder = v; return this; }
        public Builder solverType(String v) { solverType = v; return this; }
        public Builder lambdaMinClipped(double v) { lambdaMinClipped = v; return this; }

        public SchedulerConfig build() {
            return new SchedulerConfig(className, numTrainTimesteps, betaStart, betaEnd, betaSchedule, trainedBetas, predictionType,
                    timestepSpacing, stepsOffset, setAlphaToOne, clipSample, clipSampleRange, finalSigmasType, lowerOrderFinal,
                    eulerAtFinal, useKarrasSigmas, sigmaMin, sigmaMax, solverOrder, solverType, lambdaMinClipped);
        }
    }
}
