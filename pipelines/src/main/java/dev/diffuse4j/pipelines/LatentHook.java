package dev.diffuse4j.pipelines;

/**
 * Lets a method rewrite the latents of chosen batch items during sampling (NHWC floats, items one
 * after another, {@code perItem} values each): StyleAligned and InDetail-IP replay a real image's
 * DDIM-inversion trajectory as the reference item this way.
 */
public interface LatentHook {
    /** The initial latents (after scaling by the scheduler's init sigma). */
    default float[] initial(float[] latents, int perItem) { return latents; }

    /** The latents after sampling step {@code step} (0-based) produced them. */
    default float[] afterStep(int step, float[] latents, int perItem) { return latents; }

    LatentHook NONE = new LatentHook() {};
}
