package dev.diffuse4j.pipelines;

import dev.diffuse4j.attention.BatchLayout;
import dev.diffuse4j.attention.Layers;
import dev.diffuse4j.attention.PerStep;
import dev.diffuse4j.attention.Recipients;
import dev.diffuse4j.attention.ReferenceAttention;
import dev.diffuse4j.attention.ReferenceAttentionConfig;
import dev.diffuse4j.attention.Steps;
import dev.diffuse4j.pipelines.image.RgbImage;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Image prompting without adapter weights, as "Devil is in the Detail" (InDetail-IP) does it: the
 * image is DDIM-inverted (no guidance) and replayed as the reference row; in the decoder's
 * self-attention layers the generated rows attend to it with Stratified Attention (separate softmaxes
 * mixed lambda_P : lambda_G) for the first steps, then with one joint softmax over [reference; own]
 * keys. With conflict-free guidance the reference reaches the conditional rows only, so the
 * unconditional branch stays plain SD. The generated rows' initial noise is AdaIN-ed per channel to
 * the most-noised inverted latent.
 */
public final class ImagePromptPipeline {
    /**
     * @param stratifiedSteps steps with Stratified Attention before switching to KV concatenation
     *                        (10 for variation / cross-prompt, 25 for structure in the authors' configs)
     * @param lambdaImage     lambda_P, weight of the image prompt's attention
     * @param lambdaSelf      lambda_G, weight of the row's own attention
     * @param conflictFree    image prompt in the conditional branch only (false = the "naive" conflicting variant)
     * @param noiseAdaIn      AdaIN of the initial noise to the inverted latent
     */
    public record Options(int stratifiedSteps, float lambdaImage, float lambdaSelf, boolean conflictFree, boolean noiseAdaIn) {
        public static Options defaults() { return new Options(10, 1f, 1f, true, true); }

        /** Structure-guided generation: Stratified Attention for the first 25 steps. */
        public static Options structure() { return new Options(25, 1f, 1f, true, true); }
    }

    /** The authors' structure guidance: ControlNet on the generated rows, only in the conditional branch for the first 10 steps. */
    public static Control structureControl(dev.diffuse4j.model.controlnet.ControlNetModel model, RgbImage controlImage, double scale) {
        return Control.of(model, controlImage, scale).withRows(Control.Rows.targetsCondOnlyFirst(10));
    }

    private final StableDiffusionPipeline pipeline;

    public ImagePromptPipeline(StableDiffusion model) { this.pipeline = new StableDiffusionPipeline(model); }

    /**
     * @param inversionPrompt the image's prompt for inversion and for the reference row
     * @param base            sampling settings; its prompt is what the generated rows draw, {@code images} how many
     * @return the reference reconstruction first, then the generated images
     */
    public GenerationResult generate(RgbImage image, String inversionPrompt, GenerationRequest base, Options o, StepListener listener) {
        return generate(image, inversionPrompt, base, o, listener, null);
    }

    /** As above, with structure from a ControlNet ({@link #structureControl}); null = none. */
    public GenerationResult generate(RgbImage image, String inversionPrompt, GenerationRequest base, Options o, StepListener listener,
                                     Control control) {
        StableDiffusion sd = pipeline.model();
        int width = base.width() > 0 ? base.width() : sd.defaultSize(), height = base.height() > 0 ? base.height() : sd.defaultSize();
        GenerationRequest ddim = base.toBuilder().sampler("ddim").eta(0).size(width, height).build();
        long t0 = System.nanoTime();
        List<float[]> trajectory = DdimInversion.invert(sd, image, inversionPrompt, width, height, ddim.steps(), 1.0);
        listener.onPhase("ddim inversion", (System.nanoTime() - t0) / 1e9);

        boolean guided = pipeline.guidanceScale(ddim) > 1;
        BatchLayout layout = new BatchLayout(0, guided);
        Recipients who = o.conflictFree() ? Recipients.COND_TARGETS : Recipients.ALL_TARGETS;
        var stratified = new ReferenceAttention(ReferenceAttentionConfig.stratified(o.lambdaSelf(), o.lambdaImage()).withRecipients(who), layout);
        var concat = new ReferenceAttention(ReferenceAttentionConfig.kvConcat().withRecipients(who), layout);
        List<String> prompts = new ArrayList<>();
        prompts.add(inversionPrompt);
        prompts.addAll(Collections.nCopies(base.images(), base.prompt()));
        var unet = sd.unet();
        unet.processors().install(Layers.self().and(Layers.decoder()), new PerStep(Steps.first(o.stratifiedSteps()), stratified, concat));
        try {
            LatentHook replay = DdimInversion.replay(trajectory, 0);
            LatentHook hook = !o.noiseAdaIn() ? replay : new LatentHook() {
                @Override
                public float[] initial(float[] latents, int perItem) {
                    return replay.initial(adainToReference(latents, trajectory.get(0), perItem, unet.config().inChannels()), perItem);
                }

                @Override
                public float[] afterStep(int step, float[] latents, int perItem) { return replay.afterStep(step, latents, perItem); }
            };
            return pipeline.generate(ddim.toBuilder().batchPrompts(prompts).build(), listener, hook, control);
        } finally {
            unet.processors().reset();
        }
    }

    /** Per item and channel (NHWC, over h*w): normalise to the reference latent's mean and std (unbiased variance + 1e-5). */
    static float[] adainToReference(float[] latents, float[] reference, int perItem, int channels) {
        float[] out = latents.clone();
        int positions = perItem / channels;
        double[] refMean = new double[channels], refStd = new double[channels];
        stats(reference, 0, positions, channels, refMean, refStd);
        double[] mean = new double[channels], std = new double[channels];
        for (int item = 0; item * perItem < latents.length; item++) {
            stats(latents, item * perItem, positions, channels, mean, std);
            for (int p = 0; p < positions; p++)
                for (int c = 0; c < channels; c++) {
                    int i = item * perItem + p * channels + c;
                    out[i] = (float) ((latents[i] - mean[c]) / std[c] * refStd[c] + refMean[c]);
                }
        }
        return out;
    }

    private static void stats(float[] x, int off, int positions, int channels, double[] mean, double[] std) {
        for (int c = 0; c < channels; c++) {
            double m = 0, v = 0;
            for (int p = 0; p < positions; p++) m += x[off + p * channels + c];
            m /= positions;
            for (int p = 0; p < positions; p++) {
                double d = x[off + p * channels + c] - m;
                v += d * d;
            }
            mean[c] = m;
            std[c] = Math.sqrt(v / Math.max(positions - 1, 1) + 1e-5);
        }
    }
}
