package dev.diffuse4j.pipelines;

import dev.diffuse4j.attention.BatchLayout;
import dev.diffuse4j.attention.Layers;
import dev.diffuse4j.attention.ReferenceAttention;
import dev.diffuse4j.attention.ReferenceAttentionConfig;
import dev.diffuse4j.model.attention.LayerInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * StyleAligned (Hertz et al., CVPR 2024) from text: one batch whose first image is the style
 * reference; every selected self-attention layer shares the reference's keys and values with the
 * other images (one joint softmax), after AdaIN of their queries and keys to the reference's
 * statistics, in both guidance halves, each half using its own reference row. The reference's own
 * attention is untouched, so it is exactly the image plain generation would give.
 */
public final class StyleAlignedPipeline {
    /**
     * @param adain       AdaIN of queries and keys (the method's default; off = plain shared attention)
     * @param shareScale  StyleAligned's shared_score_scale (reference logits x scale for targets)
     * @param shareShift  shared_score_shift (added to reference logits; ln 2 counts the reference twice)
     * @param layers      which layers share (self-attention layers of this selection; default all)
     * @param balance     Conditional Balance: share only in the lambda_S most style-sensitive layers of this
     *                    per-timestep ranking (null = every selected layer at every step)
     * @param lambdaS     fraction of the ranked layers (or a count above 1)
     * @param sharedNorm  StyleAligned's shared normalisation: every UNet GroupNorm takes its statistics jointly
     *                    over the item and its half's reference (the authors' SD1.x notebook turns it on)
     */
    public record Options(boolean adain, float shareScale, float shareShift, Predicate<LayerInfo> layers,
                          dev.diffuse4j.attention.LayerRanking balance, double lambdaS, boolean sharedNorm) {
        public Options(boolean adain, float shareScale, float shareShift, Predicate<LayerInfo> layers,
                       dev.diffuse4j.attention.LayerRanking balance, double lambdaS) {
            this(adain, shareScale, shareShift, layers, balance, lambdaS, false);
        }

        public static Options defaults() { return new Options(true, 1f, 0f, Layers.all(), null, 0); }

        public Options withSharedNorm(boolean on) { return new Options(adain, shareScale, shareShift, layers, balance, lambdaS, on); }
    }

    private final StableDiffusionPipeline pipeline;

    public StyleAlignedPipeline(StableDiffusion model) { this.pipeline = new StableDiffusionPipeline(model); }

    public StableDiffusionPipeline pipeline() { return pipeline; }

    /** Prompts with the style description appended, as the method's authors write them. */
    public static List<String> styled(List<String> prompts, String style) {
        List<String> out = new ArrayList<>();
        for (String p : prompts) out.add(style == null || style.isBlank() ? p : p + ", " + style);
        return out;
    }

    /**
     * @param prompts the first is the reference; at least two
     * @param base    sampling settings (its prompt and image count are replaced by {@code prompts})
     */
    public GenerationResult generate(List<String> prompts, GenerationRequest base, Options o, StepListener listener) {
        return generate(prompts, base, o, listener, LatentHook.NONE, null);
    }

    /** As {@link #generate(List, GenerationRequest, Options, StepListener)}, with ControlNet structure (Conditional Balance). */
    public GenerationResult generate(List<String> prompts, GenerationRequest base, Options o, StepListener listener, Control control) {
        return generate(prompts, base, o, listener, LatentHook.NONE, control);
    }

    /**
     * Style transfer from a real image: the image is DDIM-inverted with its own prompt (guidance
     * {@code inversionGuidance}, 2 in the authors' notebook) and its trajectory replayed as the
     * reference item at every step, so the other images take its style. Sampling uses DDIM with the
     * same number of steps.
     *
     * @param referencePrompt describes the reference image's content and style (it is the reference row's prompt)
     * @param prompts         the images to generate in that style
     */
    public GenerationResult generateFromImage(dev.diffuse4j.pipelines.image.RgbImage reference, String referencePrompt,
                                              double inversionGuidance, List<String> prompts, GenerationRequest base,
                                              Options o, StepListener listener) {
        if (prompts.isEmpty()) throw new IllegalArgumentException("style transfer needs at least one prompt to generate");
        StableDiffusion sd = pipeline.model();
        int width = base.width() > 0 ? base.width() : sd.defaultSize(), height = base.height() > 0 ? base.height() : sd.defaultSize();
        GenerationRequest ddim = base.toBuilder().sampler("ddim").eta(0).size(width, height).build();
        long t0 = System.nanoTime();
        List<float[]> trajectory = DdimInversion.invert(sd, reference, referencePrompt, width, height, ddim.steps(), inversionGuidance);
        listener.onPhase("ddim inversion", (System.nanoTime() - t0) / 1e9);
        List<String> batch = new java.util.ArrayList<>();
        batch.add(referencePrompt);
        batch.addAll(prompts);
        return generate(batch, ddim, o, listener, DdimInversion.replay(trajectory, 0), null);
    }

    /** The general form: {@code hook} may rewrite latents (a replayed reference, shared noise), {@code control} may be null. */
    public GenerationResult generate(List<String> prompts, GenerationRequest base, Options o, StepListener listener, LatentHook hook,
                                     Control control) {
        if (prompts.size() < 2) throw new IllegalArgumentException("style-aligned needs at least two prompts: the reference and one target");
        var unet = pipeline.model().unet();
        boolean guided = pipeline.guidanceScale(base) > 1;
        var config = ReferenceAttentionConfig.styleAligned().withAdaIn(o.adain(), o.adain(), false).withScore(o.shareScale(), o.shareShift());
        var layout = new BatchLayout(0, guided);
        dev.diffuse4j.model.attention.AttentionProcessor processor = o.balance() != null
                ? new dev.diffuse4j.attention.ConditionalBalance(o.balance(), o.lambdaS(), layout)
                : new ReferenceAttention(config, layout);
        int shared = unet.processors().install(Layers.self().and(o.layers()), processor);
        if (shared == 0) throw new IllegalArgumentException("the layer selection matches no self-attention layer of this UNet");
        if (o.sharedNorm()) unet.groupNorms(new dev.diffuse4j.attention.SharedGroupNorm(layout));
        try {
            return pipeline.generate(base.toBuilder().batchPrompts(prompts).build(), listener, hook, control);
        } finally {
            unet.processors().reset();
            unet.groupNorms(null);
        }
    }
}
