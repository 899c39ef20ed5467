package dev.diffuse4j.pipelines;

import dev.diffuse4j.pipelines.image.RgbImage;

/**
 * One text-to-image (or image-to-image) job. Build with {@link #builder(String)}; unset values take
 * the model's defaults (size 512/1024, guidance 7.5 SD1.5 / 5.0 SDXL).
 *
 * @param prompt           what to draw
 * @param negativePrompt   what to steer away from; null = "" for SD1.5, all-zero conditioning for SDXL base
 * @param steps            sampling steps
 * @param guidanceScale    classifier-free guidance scale (&lt;= 1 disables guidance: one UNet pass per step); NaN = model default
 * @param guidanceRescale  diffusers' guidance_rescale phi (0 = off)
 * @param seed             noise seed
 * @param width            image width in pixels (multiple of 8), 0 = model default
 * @param height           image height in pixels (multiple of 8), 0 = model default
 * @param sampler          ddim, euler, dpm++2m, dpm++2m-karras
 * @param images           how many images (one batch)
 * @param eta              DDIM eta (0 = deterministic)
 * @param noise            the initial-noise generator
 * @param initImage        image-to-image source, or null
 * @param strength         image-to-image: how much of the schedule to run (1 = ignore the image)
 * @param batchPrompts     one prompt per image (batch methods such as StyleAligned), or null for {@code images} copies of {@code prompt}
 * @param sdxlSizes        SDXL micro-conditioning {original h, w, crop top, left, target h, w}, or null for
 *                         diffusers' defaults (original = target = the image size, no crop)
 */
public record GenerationRequest(String prompt, String negativePrompt, int steps, double guidanceScale, double guidanceRescale,
                                long seed, int width, int height, String sampler, int images, double eta, NoiseMode noise,
                                RgbImage initImage, double strength, java.util.List<String> batchPrompts, int[] sdxlSizes) {
    public GenerationRequest {
        if (sdxlSizes != null) {
            if (sdxlSizes.length != 6) throw new IllegalArgumentException("SDXL sizes are 6 numbers: original h, w, crop top, left, target h, w");
            sdxlSizes = sdxlSizes.clone();
        }
        if (batchPrompts != null) {
            batchPrompts = java.util.List.copyOf(batchPrompts);
            if (batchPrompts.isEmpty()) throw new IllegalArgumentException("batch prompts must not be empty");
            images = batchPrompts.size();
        }
        if (prompt == null) throw new IllegalArgumentException("a prompt is required");
        if (steps < 1 || steps > 1000) throw new IllegalArgumentException("steps must be 1..1000, got " + steps);
        if (images < 1 || images > 64) throw new IllegalArgumentException("images must be 1..64, got " + images);
        if (width < 0 || height < 0 || width % 8 != 0 || height % 8 != 0)
            throw new IllegalArgumentException("image size must be a positive multiple of 8, got " + width + "x" + height);
        if (!(strength > 0 && strength <= 1)) throw new IllegalArgumentException("strength must be in (0, 1], got " + strength);
        if (!(guidanceRescale >= 0 && guidanceRescale <= 1)) throw new IllegalArgumentException("guidance rescale must be in [0, 1], got " + guidanceRescale);
        if (eta < 0) throw new IllegalArgumentException("eta must be >= 0, got " + eta);
    }

    public static Builder builder(String prompt) { return new Builder(prompt); }

    @Override
    public int[] sdxlSizes() { return sdxlSizes == null ? null : sdxlSizes.clone(); }

    /** The prompt of every image of the batch. */
    public java.util.List<String> prompts() {
        return batchPrompts != null ? batchPrompts : java.util.Collections.nCopies(images, prompt);
    }

    public Builder toBuilder() {
        Builder b = new Builder(prompt);
        b.negativePrompt = negativePrompt; b.steps = steps; b.guidanceScale = guidanceScale; b.guidanceRescale = guidanceRescale;
        b.seed = seed; b.width = width; b.height = height; b.sampler = sampler; b.images = images; b.eta = eta; b.noise = noise;
        b.initImage = initImage; b.strength = strength; b.batchPrompts = batchPrompts; b.sdxlSizes = sdxlSizes;
        return b;
    }

    public static final class Builder {
        private final String prompt;
        private String negativePrompt;
        private int steps = 30;
        private double guidanceScale = Double.NaN;
        private double guidanceRescale;
        private long seed;
        private int width, height;
        private String sampler = "ddim";
        private int images = 1;
        private double eta;
        private NoiseMode noise = NoiseMode.PHILOX;
        private RgbImage initImage;
        private double strength = 1.0;
        private java.util.List<String> batchPrompts;
        private int[] sdxlSizes;

        private Builder(String prompt) { this.prompt = prompt; }

        public Builder negativePrompt(String v) { negativePrompt = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder guidanceScale(double v) { guidanceScale = v; return this; }
        public Builder guidanceRescale(double v) { guidanceRescale = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder size(int w, int h) { width = w; height = h; return this; }
        public Builder sampler(String v) { sampler = v; return this; }
        public Builder images(int v) { images = v; return this; }
        public Builder eta(double v) { eta = v; return this; }
        public Builder noise(NoiseMode v) { noise = v; return this; }
        public Builder initImage(RgbImage img, double s) { initImage = img; strength = s; return this; }
        /** One prompt per image; sets the image count. */
        public Builder batchPrompts(java.util.List<String> v) { batchPrompts = v; return this; }
        /** SDXL add_time_ids: original size, crop top-left, target size (pixels). */
        public Builder sdxlSizes(int originalH, int originalW, int cropTop, int cropLeft, int targetH, int targetW) {
            sdxlSizes = new int[]{originalH, originalW, cropTop, cropLeft, targetH, targetW};
            return this;
        }

        public GenerationRequest build() {
            return new GenerationRequest(prompt, negativePrompt, steps, guidanceScale, guidanceRescale, seed, width, height, sampler,
                    images, eta, noise, initImage, strength, batchPrompts, sdxlSizes);
        }
    }
}
