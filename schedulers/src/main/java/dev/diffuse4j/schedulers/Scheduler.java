package dev.diffuse4j.schedulers;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.schedulers.noise.NoiseSource;

/**
 * A diffusion sampler as a pipeline drives it:
 * <pre>{@code
 * scheduler.setTimesteps(steps);
 * latents = noise.randn(...) * scheduler.initNoiseSigma();
 * for (int i = 0; i < scheduler.numSteps(); i++) {
 *     input = scheduler.scaleModelInput(latents, i);
 *     eps   = unet(input, scheduler.timestep(i), ...);      // plus guidance
 *     latents = scheduler.step(eps, i, latents, noise);
 * }
 * }</pre>
 * Steps are addressed by index into {@link #timesteps()}, never by timestep value. The math is
 * elementwise, so latents may be in any layout (NCHW or NHWC) as long as the model output has the same
 * one; the float[] methods are the reference, the {@link Tensor} methods read CPU tensors of any float dtype
 * and return new contiguous F32 CPU tensors of the same shape. Every operation follows diffusers' float32
 * evaluation order, so results match diffusers to the last bit or two.
 *
 * <p>Instances are not thread-safe. Multistep samplers keep history between steps: call
 * {@link #setTimesteps} or {@link #reset} before each generation (or use a fresh instance).
 */
public interface Scheduler {

    SchedulerConfig config();

    /** The training schedule (betas, alphas, cumulative alphas) this sampler is built on. */
    TrainingSchedule trainingSchedule();

    /** Chooses {@code numInferenceSteps} timesteps and clears per-generation state. */
    void setTimesteps(int numInferenceSteps);

    /** Number of steps of the current schedule. */
    int numSteps();

    /** The timesteps to evaluate the model at, noisiest first (ascending for inversion). Integers for DDIM and DPM-Solver++. */
    float[] timesteps();

    /** The timestep to pass to the model at step {@code stepIndex}. */
    default float timestep(int stepIndex) {
        checkStep(stepIndex);
        return timesteps()[stepIndex];
    }

    /** Standard deviation to multiply unit-variance initial noise by. */
    float initNoiseSigma();

    /** The model input is {@code sample / modelInputDivisor(i)}: sqrt(sigma^2 + 1) for Euler, 1 otherwise. */
    float modelInputDivisor(int stepIndex);

    /** {@code sample / modelInputDivisor(stepIndex)} (the same array when the divisor is 1). */
    default float[] scaleModelInput(float[] sample, int stepIndex) {
        float d = modelInputDivisor(stepIndex);
        if (d == 1f) return sample;
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) out[i] = sample[i] / d;
        return out;
    }

    /**
     * One denoising step: the sample at step {@code stepIndex + 1} from the model output at {@code stepIndex}.
     *
     * @param noise source of the fresh noise a stochastic step adds (DDIM with eta &gt; 0); may be null otherwise
     */
    float[] step(float[] modelOutput, int stepIndex, float[] sample, NoiseSource noise);

    /** The model's estimate of the clean sample x0 at step {@code stepIndex} (after clipping where configured). */
    float[] predictX0(float[] modelOutput, int stepIndex, float[] sample);

    /** Noises a clean sample to the noise level of step {@code stepIndex} (img2img, inpainting). */
    float[] addNoise(float[] original, float[] noise, int stepIndex);

    /** Clears per-generation state (multistep history), keeping the timesteps. */
    void reset();

    // ------------------------------------------------------------------ Tensor forms

    default Tensor scaleModelInput(Tensor sample, int stepIndex) {
        return Latents.wrap(scaleModelInput(Latents.read(sample, "sample"), stepIndex), sample);
    }

    default Tensor step(Tensor modelOutput, int stepIndex, Tensor sample, NoiseSource noise) {
        Latents.checkSameShape(modelOutput, sample, "step");
        return Latents.wrap(step(Latents.read(modelOutput, "model output"), stepIndex, Latents.read(sample, "sample"), noise), sample);
    }

    default Tensor predictX0(Tensor modelOutput, int stepIndex, Tensor sample) {
        Latents.checkSameShape(modelOutput, sample, "predictX0");
        return Latents.wrap(predictX0(Latents.read(modelOutput, "model output"), stepIndex, Latents.read(sample, "sample")), sample);
    }

    default Tensor addNoise(Tensor original, Tensor noise, int stepIndex) {
        Latents.checkSameShape(original, noise, "addNoise");
        return Latents.wrap(addNoise(Latents.read(original, "original"), Latents.read(noise, "noise"), stepIndex), original);
    }

    /** Throws unless {@code stepIndex} addresses a step of the current schedule. */
    default void checkStep(int stepIndex) {
        if (numSteps() == 0) throw new IllegalStateException(getClass().getSimpleName() + ": call setTimesteps before stepping");
        if (stepIndex < 0 || stepIndex >= numSteps())
            throw new IndexOutOfBoundsException(getClass().getSimpleName() + ": step " + stepIndex + " is outside [0, " + numSteps() + ")");
    }
}
