package dev.diffuse4j.pipelines;

import dev.diffuse4j.attention.guidance.AttendExciteObjective;
import dev.diffuse4j.attention.guidance.GuidanceObjective;
import dev.diffuse4j.attention.guidance.InitnoObjective;
import dev.diffuse4j.attention.guidance.SelfCrossObjective;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.clip.TextConditioning;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.schedulers.Samplers;
import dev.diffuse4j.schedulers.Scheduler;
import dev.diffuse4j.schedulers.noise.NoiseSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * Text-to-image with latent guidance towards every subject of the prompt: Self-Cross diffusion
 * guidance (Qiu et al., CVPR 2025, INITNO flavour: initial-noise optimisation, then response + clean +
 * alignment + self-cross losses) or Attend-and-Excite (Chefer et al., 2023). Each guided step runs a
 * cond-only UNet pass of the latent on an autograd tape, reads the head- and layer-averaged attention
 * maps at 1/32 of the image size (16x16 for SD1.5 at 512 px: down_blocks.2 and up_blocks.1), and moves
 * the latent against the loss gradient before the usual CFG step. Everything else is
 * {@link StableDiffusionPipeline}; with a scale factor of 0 the result is plain generation, bit for bit.
 */
public final class SelfCrossPipeline {
    private final StableDiffusionPipeline pipeline;

    public SelfCrossPipeline(StableDiffusion model) { this.pipeline = new StableDiffusionPipeline(model); }

    public StableDiffusion model() { return pipeline.model(); }

    /** The subjects' 1-based token positions in the request's prompt. */
    public int[] subjects(GenerationRequest req, SelfCrossOptions o) {
        var tok = pipeline.model().prompts().tokenizer();
        return o.subjectWords() != null ? SubjectTokens.ofWords(tok, req.prompt(), o.subjectWords())
                : SubjectTokens.ofIndices(tok, req.prompt(), o.subjectIndices());
    }

    public GenerationResult generate(GenerationRequest req, SelfCrossOptions o, GuidanceListener listener) {
        StableDiffusion model = pipeline.model();
        if (model.isXl()) throw new IllegalArgumentException("self-cross / attend-and-excite guidance supports SD1.x models (the authors' pipelines); this is SDXL");
        if (req.images() != 1 || req.batchPrompts() != null)
            throw new IllegalArgumentException("guided generation makes one image per request (got " + req.images() + "); vary --seed for more");
        if (req.initImage() != null) throw new IllegalArgumentException("guided generation is text-to-image only (no init image)");
        int[] subjects = subjects(req, o);
        if (!o.enabled()) return pipeline.generate(req, listener);

        int f = model.vaeScaleFactor();
        int width = req.width() > 0 ? req.width() : model.defaultSize(), height = req.height() > 0 ? req.height() : model.defaultSize();
        int h = height / f, w = width / f, c = model.unet().config().inChannels();
        Scheduler scheduler = Samplers.create(req.sampler(), model.scheduler());
        scheduler.setTimesteps(req.steps());
        NoiseSource fresh = req.noise().source(req.seed());
        fresh.next(h * w * c); // the pipeline's own first draw; INITNO's later rounds continue the stream
        GuidanceObjective objective = o.method() == SelfCrossOptions.Method.SELF_CROSS ? new SelfCrossObjective(o.topK()) : new AttendExciteObjective();
        GuidanceObjective initno = new InitnoObjective(o.topK());
        try (Scope scope = Scope.open()) {
            TextConditioning cond = model.prompts().encode(List.of(req.prompt()));
            Tensor context = cond.context();
            var setup = new LatentGuidance.Setup(model, h, w, c, context, scheduler, scheduler.numSteps(), guidanceLayers(width, height, h, w),
                    subjects, fresh);
            GenerationResult g = pipeline.generate(req, listener, new LatentGuidance(setup, o, objective, initno, listener));
            List<String> params = new ArrayList<>();
            for (String p : g.imageParameters()) params.add(p.replace(", Version:", ", " + describe(o, subjects) + ", Version:"));
            return new GenerationResult(g.images(), params, g.seconds());
        }
    }

    /**
     * The layers the losses read: those whose grid is ceil(width/32) x ceil(height/32) pixels, as the
     * authors' attn_res; where a (tiny) model has none there, the coarsest level with both kinds.
     */
    public Predicate<LayerInfo> guidanceLayers(int width, int height, int h, int w) {
        List<LayerInfo> layers = pipeline.model().unet().layers(h, w);
        int gh = (height + 31) / 32, gw = (width + 31) / 32;
        int level = -1;
        for (LayerInfo l : layers)
            if (l.height() == gh && l.width() == gw && hasBoth(layers, l.level())) level = l.level();
        if (level < 0)
            for (LayerInfo l : layers) if (hasBoth(layers, l.level())) level = Math.max(level, l.level());
        if (level < 0) throw new IllegalArgumentException("this UNet has no level with both self- and cross-attention to guide");
        int chosen = level;
        return l -> l.level() == chosen;
    }

    private static boolean hasBoth(List<LayerInfo> layers, int level) {
        return layers.stream().anyMatch(l -> l.level() == level && l.isSelf()) && layers.stream().anyMatch(l -> l.level() == level && l.isCross());
    }

    private static String describe(SelfCrossOptions o, int[] subjects) {
        return String.format(Locale.ROOT, "Guidance: %s (subject tokens %s, scale factor %s, steps altered %s%s)", o.method().cliName(),
                Arrays.toString(subjects).replace(" ", ""), o.scaleFactor(), o.maxIterToAlter() < 0 ? "half" : String.valueOf(o.maxIterToAlter()),
                o.initialNoise() ? ", initial noise optimised" : "");
    }
}
