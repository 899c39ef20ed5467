package dev.diffuse4j.schedulers;

import dev.diffuse4j.schedulers.noise.NoiseSource;

/**
 * DDIM inversion as diffusers' {@code DDIMInverseScheduler}: runs the deterministic DDIM update backwards,
 * from a clean latent towards noise, over ascending timesteps. Step i moves from
 * {@code s = min(t_i - T div N, T - 1)} to {@code t_i} (abar_s is {@code initial_alpha_cumprod} below 0):
 * <pre>
 *   x0   = (x - sqrt(1 - abar_s) eps) / sqrt(abar_s)      (clamped if clip_sample)
 *   next = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps
 * </pre>
 * The caller evaluates the model at the target timestep t_i on the current (less noisy) latent - the usual
 * DDIM-inversion approximation; sampling back with {@link DdimScheduler} at the same N and spacing retraces
 * the path exactly when eps does not change between neighbouring timesteps. Default spacing "leading".
 */
public final class DdimInverseScheduler extends IntegerTimestepScheduler {
    private final float[] alphasCumprod;
    private final float initialAlphaCumprod;

    public DdimInverseScheduler(SchedulerConfig config) {
        super(config, TimestepSpacing.LEADING);
        this.alphasCumprod = schedule.alphasCumprod();
        this.initialAlphaCumprod = config.setAlphaToOneOrDefault() ? 1f : alphasCumprod[0];
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        timesteps = TimestepTables.ddimInverse(spacing, numInferenceSteps, config.numTrainTimesteps(), config.stepsOffset());
    }

    @Override public void reset() {}

    /** Deterministic: {@code noise} is not used. */
    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample, NoiseSource noise) {
        Latents.checkSameLength(modelOutput, sample, "DDIM inverse step");
        checkStep(stepIndex);
        int target = timesteps[stepIndex];
        float as = sourceAlphaCumprod(target), at = alphasCumprod[target];
        Prediction p = Prediction.of(config, modelOutput, sample, as);
        float sqrtAt = (float) Math.sqrt(at), dirCoef = (float) Math.sqrt(1f - at);
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) out[i] = sqrtAt * p.x0[i] + dirCoef * p.eps[i];
        return out;
    }

    @Override
    public float[] predictX0(float[] modelOutput, int stepIndex, float[] sample) {
        Latents.checkSameLength(modelOutput, sample, "DDIM inverse predictX0");
        checkStep(stepIndex);
        return Prediction.of(config, modelOutput, sample, sourceAlphaCumprod(timesteps[stepIndex])).x0;
    }

    /** Noises {@code original} to the level of step {@code stepIndex}'s target timestep. */
    @Override
    public float[] addNoise(float[] original, float[] noise, int stepIndex) {
        Latents.checkSameLength(original, noise, "DDIM inverse addNoise");
        checkStep(stepIndex);
        return Prediction.addNoise(original, noise, alphasCumprod[timesteps[stepIndex]]);
    }

    private float sourceAlphaCumprod(int target) {
        int source = Math.min(target - config.numTrainTimesteps() / timesteps.length, config.numTrainTimesteps() - 1);
        return source >= 0 ? alphasCumprod[source] : initialAlphaCumprod;
    }
}
