package dev.diffuse4j.schedulers;

import dev.diffuse4j.schedulers.noise.NoiseSource;

/**
 * DDIM (Song, Meng, Ermon 2021) as diffusers' {@code DDIMScheduler}. From timestep t to
 * {@code prev = t - T div N} (for every spacing; abar_prev is {@code final_alpha_cumprod} below 0):
 * <pre>
 *   x0   = (x - sqrt(1 - abar_t) eps) / sqrt(abar_t)            (clamped if clip_sample)
 *   var  = (1 - abar_prev) / (1 - abar_t) * (1 - abar_t / abar_prev),   std = eta sqrt(var)
 *   prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - std^2) eps + std z
 * </pre>
 * Default spacing "leading". Stateless between steps.
 */
public final class DdimScheduler extends IntegerTimestepScheduler {
    private final float[] alphasCumprod;
    private final float finalAlphaCumprod;
    private final float eta;

    /** Deterministic DDIM (eta = 0). */
    public DdimScheduler(SchedulerConfig config) {
        this(config, 0f);
    }

    /** DDIM with noise weight {@code eta} (0 deterministic, 1 DDPM-like); eta &gt; 0 needs a noise source at each step. */
    public DdimScheduler(SchedulerConfig config, float eta) {
        if (!(eta >= 0)) throw new IllegalArgumentException("DDIM eta must be >= 0, got " + eta);
        super(config, TimestepSpacing.LEADING);
        this.alphasCumprod = schedule.alphasCumprod();
        this.finalAlphaCumprod = config.setAlphaToOneOrDefault() ? 1f : alphasCumprod[0];
        this.eta = eta;
    }

    public float eta() { return eta; }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        timesteps = TimestepTables.ddim(spacing, numInferenceSteps, config.numTrainTimesteps(), config.stepsOffset());
    }

    @Override public void reset() {}

    /** diffusers' {@code _get_variance(t, prev)}: the DDPM posterior variance between two training timesteps. */
    public float variance(int timestep, int prevTimestep) {
        float at = schedule.alphaCumprod(timestep);
        float ap = alphaCumprodOrFinal(prevTimestep);
        float bt = 1f - at, bp = 1f - ap;
        return (bp / bt) * (1f - at / ap);
    }

    /**
     * A step whose noise term (eta &gt; 0) uses the next {@code sample.length} samples of {@code noise}, drawn in
     * the order of the elements given - NCHW order reproduces diffusers' {@code randn_tensor} draw.
     */
    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample, NoiseSource noise) {
        if (eta > 0 && noise == null) throw new IllegalArgumentException("DDIM with eta = " + eta + " needs a NoiseSource for its noise term");
        Latents.checkSameLength(modelOutput, sample, "DDIM step");
        checkStep(stepIndex);
        return stepWithNoise(modelOutput, stepIndex, sample, eta > 0 ? noise.next(sample.length) : null);
    }

    /**
     * A step with explicit noise for the eta term (diffusers' {@code variance_noise}), for callers that
     * draw or lay out the noise themselves; ignored (may be null) when eta is 0.
     */
    public float[] stepWithNoise(float[] modelOutput, int stepIndex, float[] sample, float[] varianceNoise) {
        Latents.checkSameLength(modelOutput, sample, "DDIM step");
        checkStep(stepIndex);
        if (eta > 0) {
            if (varianceNoise == null) throw new IllegalArgumentException("DDIM with eta = " + eta + " needs noise for its noise term");
            Latents.checkSameLength(varianceNoise, sample, "DDIM step noise");
        }
        int t = timesteps[stepIndex];
        int prev = t - config.numTrainTimesteps() / timesteps.length;
        float at = alphasCumprod[t], ap = alphaCumprodOrFinal(prev);
        Prediction p = Prediction.of(config, modelOutput, sample, at);

        float std = eta * (float) Math.sqrt(variance(t, prev));
        float sqrtAp = (float) Math.sqrt(ap);
        float dirCoef = (float) Math.sqrt(1f - ap - std * std);
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) out[i] = sqrtAp * p.x0[i] + dirCoef * p.eps[i];
        if (eta > 0) for (int i = 0; i < out.length; i++) out[i] = out[i] + std * varianceNoise[i];
        return out;
    }

    @Override
    public float[] predictX0(float[] modelOutput, int stepIndex, float[] sample) {
        Latents.checkSameLength(modelOutput, sample, "DDIM predictX0");
        checkStep(stepIndex);
        return Prediction.of(config, modelOutput, sample, alphasCumprod[timesteps[stepIndex]]).x0;
    }

    @Override
    public float[] addNoise(float[] original, float[] noise, int stepIndex) {
        Latents.checkSameLength(original, noise, "DDIM addNoise");
        checkStep(stepIndex);
        return Prediction.addNoise(original, noise, alphasCumprod[timesteps[stepIndex]]);
    }

    private float alphaCumprodOrFinal(int t) {
        return t >= 0 ? schedule.alphaCumprod(t) : finalAlphaCumprod;
    }
}
