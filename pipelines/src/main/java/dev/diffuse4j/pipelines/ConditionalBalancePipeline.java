package dev.diffuse4j.pipelines;

import dev.diffuse4j.attention.LayerRanking;
import dev.diffuse4j.attention.Layers;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.controlnet.ControlNetModel;
import dev.diffuse4j.pipelines.image.RgbImage;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Conditional Balance (Cohen, Nir, Shamir, CVPR 2025): StyleAligned from text restricted, at each
 * timestep, to the lambda_S most style-sensitive self-attention layers of a ranking, plus optional
 * ControlNet structure on the target rows (zeros for the reference) whose down residuals are dropped
 * once {@code t < int(lambda_T * 1000)}, the mid residual kept throughout.
 */
public final class ConditionalBalancePipeline {
    /** lambda_S as the authors' README: 0.43 (30 of 70 SDXL layers) text-only, 0.57 (39) with ControlNet. */
    public static final double LAMBDA_S_TEXT = 0.43, LAMBDA_S_CONTROL = 0.57;
    /** lambda_T of the authors' README; conditioning scale of their ControlNet runs. */
    public static final double LAMBDA_T = 0.8, CONTROL_SCALE = 0.8;

    /**
     * @param ranking      per-timestep layer scores (the authors' grading file as JSON)
     * @param lambdaS      fraction of the ranked layers that share (or a count above 1)
     * @param lambdaT      structure balance: ControlNet down residuals only while t >= int(lambdaT * 1000)
     * @param controlScale ControlNet conditioning scale
     * @param sharedTargetNoise every target starts from the same noise (the authors' {@code --initialize_latents}),
     *                     so the targets differ only by their prompts
     */
    public record Options(LayerRanking ranking, double lambdaS, double lambdaT, double controlScale, boolean sharedTargetNoise) {
        public Options {
            if (ranking == null) throw new IllegalArgumentException("Conditional Balance needs a layer ranking (the grading file as JSON)");
            if (!(lambdaS > 0)) throw new IllegalArgumentException("lambda_S must be > 0, got " + lambdaS);
            if (!(lambdaT >= 0 && lambdaT <= 1)) throw new IllegalArgumentException("lambda_T must be in [0, 1], got " + lambdaT);
        }

        public Options(LayerRanking ranking, double lambdaS, double lambdaT, double controlScale) {
            this(ranking, lambdaS, lambdaT, controlScale, false);
        }

        public Options withSharedTargetNoise(boolean on) { return new Options(ranking, lambdaS, lambdaT, controlScale, on); }
    }

    /** Copies the first target's initial latent (item 1) to every later target; the reference (item 0) keeps its own. */
    static final LatentHook SHARED_TARGET_NOISE = new LatentHook() {
        @Override
        public float[] initial(float[] latents, int perItem) {
            float[] out = latents.clone();
            for (int at = 2 * perItem; at + perItem <= out.length; at += perItem) System.arraycopy(latents, perItem, out, at, perItem);
            return out;
        }
    };

    private final StyleAlignedPipeline styleAligned;

    public ConditionalBalancePipeline(StableDiffusion model) { this.styleAligned = new StyleAlignedPipeline(model); }

    /**
     * @param prompts      the reference first, then the targets (style already appended, see {@link StyleAlignedPipeline#styled})
     * @param controlNet   null for text-only balance; else with {@code controlImage}
     * @param controlSteps told what the ControlNet did at every step (may be null)
     */
    public GenerationResult generate(List<String> prompts, GenerationRequest base, Options o, ControlNetModel controlNet,
                                     RgbImage controlImage, StepListener listener, Control.Listener controlSteps) {
        if ((controlNet == null) != (controlImage == null))
            throw new IllegalArgumentException("ControlNet structure needs both a ControlNet model and a control image");
        checkRanking(o.ranking(), styleAligned.pipeline().model().unet().layers());
        var sa = new StyleAlignedPipeline.Options(true, 1f, 0f, Layers.all(), o.ranking(), o.lambdaS());
        Control control = controlNet == null ? null
                : Control.of(controlNet, controlImage, o.controlScale()).withRows(Control.Rows.TARGETS)
                        .withSchedule(Control.Schedule.conditionalBalance(o.lambdaT())).withListener(controlSteps);
        return styleAligned.generate(prompts, base, sa, listener, o.sharedTargetNoise() ? SHARED_TARGET_NOISE : LatentHook.NONE, control);
    }

    /** A ranking made for another UNet (SDXL's 70 layers on SD1.5) would share in the wrong places or nowhere: refuse it. */
    static void checkRanking(LayerRanking ranking, List<LayerInfo> layers) {
        Set<String> self = new HashSet<>();
        for (LayerInfo l : layers) if (l.isSelf()) self.add(l.name());
        List<String> unknown = ranking.layerNames().stream().filter(n -> !self.contains(n)).toList();
        if (!unknown.isEmpty())
            throw new IllegalArgumentException("the ranking names " + unknown.size() + " of its " + ranking.layerNames().size()
                    + " layers that are not self-attention layers of this UNet (first: " + unknown.get(0) + "); it was made for another model");
    }
}
