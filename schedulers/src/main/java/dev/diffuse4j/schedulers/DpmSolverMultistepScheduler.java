package dev.diffuse4j.schedulers;

import dev.diffuse4j.schedulers.noise.NoiseSource;

/**
 * DPM-Solver++ 2M (Lu et al. 2022, "DPM-Solver++"), the multistep data-prediction solver, as diffusers'
 * {@code DPMSolverMultistepScheduler} with algorithm_type "dpmsolver++". With
 * {@code alpha = 1/sqrt(sigma^2 + 1)}, {@code s = sigma alpha}, {@code lambda = ln alpha - ln s} and m0, m1 the
 * x0 estimates of this and the previous step:
 * <pre>
 *   first order:  x' = (s_{i+1}/s_i) x - alpha_{i+1} (e^{-h} - 1) m0,                  h = lambda_{i+1} - lambda_i
 *   midpoint:     x' = (s_{i+1}/s_i) x - alpha_{i+1} (e^{-h} - 1) (m0 + (m0 - m1) / (2 r0)),   r0 = (lambda_i - lambda_{i-1}) / h
 * </pre>
 * First order is used on the first step, and on the last when final_sigmas_type is "zero", euler_at_final
 * is set, or lower_order_final is set and there are fewer than 15 steps. The sigma = 0 end is handled
 * with IEEE infinities (lambda = +inf, e^{-h} = 0), as in diffusers. Default spacing "linspace".
 *
 * <p>Keeps the previous x0 estimate: steps must be taken in order (any starting step, for img2img);
 * {@link #reset()} or {@link #setTimesteps} starts over.
 */
public final class DpmSolverMultistepScheduler extends IntegerTimestepScheduler {
    private final float[] trainSigmas;
    private float[] sigmas = new float[0];

    // per-generation state
    private float[] previousX0;
    private int lastStep = -1;
    private int lowerOrderSteps;

    public DpmSolverMultistepScheduler(SchedulerConfig config) {
        super(config, TimestepSpacing.LINSPACE);
        this.trainSigmas = schedule.sigmas();
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        int trainSteps = config.numTrainTimesteps();
        int[] t;
        double[] s;
        if (config.useKarrasSigmas()) {
            // Karras over the whole training range, mapped back to (rounded) timesteps through log-sigma
            s = SigmaTables.karras(trainSigmas[0], trainSigmas[trainSteps - 1], numInferenceSteps);
            float[] logSigmas = SigmaTables.logSigmas(trainSigmas);
            // diffusers rounds these timesteps except for the cosine schedule, where int64 conversion truncates
            boolean round = config.betaSchedule() != BetaSchedule.SQUAREDCOS_CAP_V2;
            t = new int[numInferenceSteps];
            for (int i = 0; i < t.length; i++) {
                double ti = SigmaTables.sigmaToT(s[i], logSigmas);
                t[i] = (int) (round ? Numpy.round(ti) : ti);
            }
        } else {
            t = TimestepTables.dpmSolver(spacing, numInferenceSteps, trainSteps, lastTimestep(), config.stepsOffset());
            double[] td = new double[t.length];
            for (int i = 0; i < t.length; i++) td[i] = t[i];
            s = SigmaTables.interpolate(trainSigmas, td);
        }
        timesteps = t;
        sigmas = SigmaTables.withFinal(s, SigmaTables.finalSigma(config.finalSigmasType(), trainSigmas));
        reset();
    }

    /** Training timesteps at or above the one where log-SNR drops below lambda_min_clipped are excluded. */
    private int lastTimestep() {
        float[] abar = schedule.alphasCumprod();
        int clipped = 0; // searchsorted(flip(lambda), lambda_min_clipped): how many lambdas are below it
        for (int i = abar.length - 1; i >= 0; i--) {
            float lambda = (float) Math.log((float) Math.sqrt(abar[i])) - (float) Math.log((float) Math.sqrt(1f - abar[i]));
            if (lambda < config.lambdaMinClipped()) clipped++;
            else break;
        }
        return abar.length - clipped;
    }

    /** The sigma table: one per step plus the final sigma. */
    public float[] sigmas() { return sigmas.clone(); }

    @Override
    public void reset() {
        previousX0 = null;
        lastStep = -1;
        lowerOrderSteps = 0;
    }

    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample, NoiseSource noise) {
        Latents.checkSameLength(modelOutput, sample, "DPM-Solver++ step");
        checkStep(stepIndex);
        if (lastStep >= 0 && stepIndex != lastStep + 1)
            throw new IllegalStateException("DPM-Solver++ keeps history: step " + stepIndex + " cannot follow step " + lastStep
                    + "; call reset() to start a new pass");
        if (previousX0 != null && previousX0.length != sample.length)
            throw new IllegalArgumentException("DPM-Solver++ step: sample has " + sample.length + " elements, the previous step had "
                    + previousX0.length + "; call reset() for a new generation");
        int n = timesteps.length;
        boolean last = stepIndex == n - 1;
        boolean firstOrderFinal = last && (config.eulerAtFinal() || (config.lowerOrderFinal() && n < 15)
                || config.finalSigmasType() == FinalSigmas.ZERO);

        float[] m0 = predictX0(modelOutput, stepIndex, sample);
        float[] out = config.solverOrder() == 1 || lowerOrderSteps < 1 || firstOrderFinal
                ? firstOrder(m0, stepIndex, sample)
                : secondOrder(m0, previousX0, stepIndex, sample);
        if (lowerOrderSteps < config.solverOrder()) lowerOrderSteps++;
        previousX0 = m0;
        lastStep = stepIndex;
        return out;
    }

    private float[] firstOrder(float[] m0, int i, float[] x) {
        Level t = Level.of(sigmas[i + 1]), s = Level.of(sigmas[i]);
        float h = t.lambda - s.lambda;
        float ratio = t.sigma / s.sigma;
        float c = t.alpha * ((float) Math.exp(-h) - 1f);
        float[] out = new float[x.length];
        for (int k = 0; k < out.length; k++) out[k] = ratio * x[k] - c * m0[k];
        return out;
    }

    private float[] secondOrder(float[] m0, float[] m1, int i, float[] x) {
        Level t = Level.of(sigmas[i + 1]), s0 = Level.of(sigmas[i]), s1 = Level.of(sigmas[i - 1]);
        float h = t.lambda - s0.lambda, h0 = s0.lambda - s1.lambda;
        float r0 = h0 / h;
        float inverseR0 = 1f / r0;
        float ratio = t.sigma / s0.sigma;
        float expm1 = (float) Math.exp(-h) - 1f;
        float c0 = t.alpha * expm1;
        boolean heun = config.solverType().equals("heun");
        float c1 = heun ? t.alpha * (expm1 / h + 1f) : 0.5f * c0;
        float[] out = new float[x.length];
        for (int k = 0; k < out.length; k++) {
            float d1 = inverseR0 * (m0[k] - m1[k]);
            out[k] = heun ? ratio * x[k] - c0 * m0[k] + c1 * d1 : ratio * x[k] - c0 * m0[k] - c1 * d1;
        }
        return out;
    }

    /** The data prediction x0 = (x - s eps) / alpha (epsilon), alpha x - s v (v), or the output (sample). */
    @Override
    public float[] predictX0(float[] modelOutput, int stepIndex, float[] sample) {
        Latents.checkSameLength(modelOutput, sample, "DPM-Solver++ predictX0");
        checkStep(stepIndex);
        Level l = Level.of(sigmas[stepIndex]);
        float[] x0 = new float[sample.length];
        switch (config.predictionType()) {
            case EPSILON -> {
                for (int k = 0; k < x0.length; k++) x0[k] = (sample[k] - l.sigma * modelOutput[k]) / l.alpha;
            }
            case V_PREDICTION -> {
                for (int k = 0; k < x0.length; k++) x0[k] = l.alpha * sample[k] - l.sigma * modelOutput[k];
            }
            case SAMPLE -> System.arraycopy(modelOutput, 0, x0, 0, x0.length);
        }
        return x0;
    }

    /** {@code alpha_i original + s_i noise}. */
    @Override
    public float[] addNoise(float[] original, float[] noise, int stepIndex) {
        Latents.checkSameLength(original, noise, "DPM-Solver++ addNoise");
        checkStep(stepIndex);
        Level l = Level.of(sigmas[stepIndex]);
        float[] out = new float[original.length];
        for (int k = 0; k < out.length; k++) out[k] = l.alpha * original[k] + l.sigma * noise[k];
        return out;
    }

    /** A noise level in VP form: alpha = 1/sqrt(sigma^2+1), sigma_t = sigma alpha, lambda = ln alpha - ln sigma_t (float32). */
    private record Level(float alpha, float sigma, float lambda) {
        static Level of(float sigmaVe) {
            float alpha = 1f / (float) Math.sqrt(sigmaVe * sigmaVe + 1f);
            float sigma = sigmaVe * alpha;
            float lambda = (float) Math.log(alpha) - (float) Math.log(sigma);
            return new Level(alpha, sigma, lambda);
        }
    }
}
