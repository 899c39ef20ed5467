package dev.diffuse4j.schedulers;

import dev.diffuse4j.schedulers.noise.NoiseSource;

/**
 * Euler's method on the probability-flow ODE in sigma space (Karras et al. 2022), as diffusers'
 * {@code EulerDiscreteScheduler} with {@code s_churn = 0}:
 * <pre>
 *   input = x / sqrt(sigma_i^2 + 1)                  (what the model sees)
 *   x0    = x - sigma_i eps
 *   next  = x + (x - x0) / sigma_i * (sigma_{i+1} - sigma_i)
 * </pre>
 * sigma_i interpolates the training sigmas sqrt((1 - abar) / abar) at (possibly fractional) timesteps,
 * or follows the Karras spacing; the table ends with 0 or sigma_min. Default spacing "linspace".
 * Stateless between steps (the step index is explicit).
 */
public final class EulerDiscreteScheduler implements Scheduler {
    private final SchedulerConfig config;
    private final TrainingSchedule schedule;
    private final float[] trainSigmas;
    private final TimestepSpacing spacing;
    private float[] timesteps = new float[0];
    private float[] sigmas = new float[0];
    private float initNoiseSigma = Float.NaN;

    public EulerDiscreteScheduler(SchedulerConfig config) {
        this.config = config;
        this.schedule = TrainingSchedule.of(config);
        this.trainSigmas = schedule.sigmas();
        this.spacing = config.timestepSpacingOr(TimestepSpacing.LINSPACE);
    }

    public TimestepSpacing spacing() { return spacing; }

    @Override public SchedulerConfig config() { return config; }

    @Override public TrainingSchedule trainingSchedule() { return schedule; }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        float[] t = TimestepTables.euler(spacing, numInferenceSteps, config.numTrainTimesteps(), config.stepsOffset());
        double[] td = new double[t.length];
        for (int i = 0; i < t.length; i++) td[i] = t[i];
        double[] s = SigmaTables.interpolate(trainSigmas, td);
        if (config.useKarrasSigmas()) {
            double min = config.sigmaMin() != null ? config.sigmaMin() : s[s.length - 1];
            double max = config.sigmaMax() != null ? config.sigmaMax() : s[0];
            s = SigmaTables.karras(min, max, numInferenceSteps);
            float[] logSigmas = SigmaTables.logSigmas(trainSigmas);
            for (int i = 0; i < t.length; i++) t[i] = (float) SigmaTables.sigmaToT(s[i], logSigmas);
        }
        timesteps = t;
        sigmas = SigmaTables.withFinal(s, SigmaTables.finalSigma(config.finalSigmasType(), trainSigmas));
        float max = 0;
        for (float v : sigmas) max = Math.max(max, v);
        initNoiseSigma = spacing == TimestepSpacing.LEADING ? (float) Math.sqrt(max * max + 1f) : max;
    }

    @Override public int numSteps() { return timesteps.length; }

    @Override
    public float timestep(int stepIndex) {
        checkStep(stepIndex);
        return timesteps[stepIndex];
    }

    @Override public float[] timesteps() { return timesteps.clone(); }

    /** The sigma table: one per step plus the final sigma. */
    public float[] sigmas() { return sigmas.clone(); }

    /** max sigma for "linspace" and "trailing"; sqrt(max sigma^2 + 1) for "leading" (as diffusers). */
    @Override
    public float initNoiseSigma() {
        if (numSteps() == 0) throw new IllegalStateException("EulerDiscreteScheduler: call setTimesteps before initNoiseSigma");
        return initNoiseSigma;
    }

    @Override
    public float modelInputDivisor(int stepIndex) {
        checkStep(stepIndex);
        float s = sigmas[stepIndex];
        return (float) Math.sqrt(s * s + 1f);
    }

    @Override public void reset() {}

    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample, NoiseSource noise) {
        Latents.checkSameLength(modelOutput, sample, "Euler step");
        float[] x0 = predictX0(modelOutput, stepIndex, sample);
        float sigma = sigmas[stepIndex];
        float dt = sigmas[stepIndex + 1] - sigma;
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) {
            float derivative = (sample[i] - x0[i]) / sigma;
            out[i] = sample[i] + derivative * dt;
        }
        return out;
    }

    @Override
    public float[] predictX0(float[] modelOutput, int stepIndex, float[] sample) {
        Latents.checkSameLength(modelOutput, sample, "Euler predictX0");
        checkStep(stepIndex);
        float sigma = sigmas[stepIndex];
        float[] x0 = new float[sample.length];
        switch (config.predictionType()) {
            case EPSILON -> {
                for (int i = 0; i < x0.length; i++) x0[i] = sample[i] - sigma * modelOutput[i];
            }
            case V_PREDICTION -> {
                float s2p1 = sigma * sigma + 1f;
                float cOut = -sigma / (float) Math.sqrt(s2p1);
                for (int i = 0; i < x0.length; i++) x0[i] = modelOutput[i] * cOut + sample[i] / s2p1;
            }
            case SAMPLE -> System.arraycopy(modelOutput, 0, x0, 0, x0.length);
        }
        return x0;
    }

    /** {@code original + noise * sigma_i}. */
    @Override
    public float[] addNoise(float[] original, float[] noise, int stepIndex) {
        Latents.checkSameLength(original, noise, "Euler addNoise");
        checkStep(stepIndex);
        float sigma = sigmas[stepIndex];
        float[] out = new float[original.length];
        for (int i = 0; i < out.length; i++) out[i] = original[i] + noise[i] * sigma;
        return out;
    }
}
