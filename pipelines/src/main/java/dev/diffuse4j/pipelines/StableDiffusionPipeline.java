package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.model.clip.TextConditioning;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.model.vae.LatentDistribution;
import dev.diffuse4j.pipelines.image.Images;
import dev.diffuse4j.pipelines.image.RgbImage;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.schedulers.Samplers;
import dev.diffuse4j.schedulers.Scheduler;
import dev.diffuse4j.schedulers.noise.NoiseSource;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Text-to-image and image-to-image for SD1.5 and SDXL, as diffusers' StableDiffusion(XL)Pipeline:
 * prompts encoded once; with guidance the UNet sees [uncond; cond] and the two halves are combined
 * (optionally rescaled); the scheduler steps; the VAE decodes. SDXL adds pooled text embeddings and
 * its six size/crop time ids. Attention processors installed on the model's UNet apply as usual.
 */
public final class StableDiffusionPipeline {
    private final StableDiffusion model;
    private VaeDecoding.Tiling tiling = VaeDecoding.Tiling.AUTO;
    private boolean cudaGraphs = !"false".equals(System.getProperty("d4j.cuda.graphs"));

    public StableDiffusionPipeline(StableDiffusion model) { this.model = model; }

    public StableDiffusion model() { return model; }

    public StableDiffusionPipeline vaeTiling(VaeDecoding.Tiling t) {
        this.tiling = t;
        return this;
    }

    /**
     * Replays each step's UNet call (and ControlNet) as a CUDA graph where it applies (CUDA, plain
     * or step-invariant attention; see {@link UNetGraph}). On by default; -Dd4j.cuda.graphs=false turns it off.
     */
    public StableDiffusionPipeline cudaGraphs(boolean on) {
        this.cudaGraphs = on;
        return this;
    }

    /** The guidance scale a request means (NaN = the family's default: 7.5 SD1.5, 5.0 SDXL). */
    public double guidanceScale(GenerationRequest r) {
        return Double.isNaN(r.guidanceScale()) ? (model.isXl() ? 5.0 : 7.5) : r.guidanceScale();
    }

    public GenerationResult generate(GenerationRequest req, StepListener listener) { return generate(req, listener, LatentHook.NONE); }

    /** As {@link #generate(GenerationRequest, StepListener)}, with a hook that may rewrite latents between steps. */
    public GenerationResult generate(GenerationRequest req, StepListener listener, LatentHook hook) { return generate(req, listener, hook, null); }

    /** As {@link #generate(GenerationRequest, StepListener, LatentHook)}, steered by a ControlNet (null = none). */
    public GenerationResult generate(GenerationRequest req, StepListener listener, LatentHook hook, Control control) {
        int f = model.vaeScaleFactor();
        int width = req.width() > 0 ? req.width() : model.defaultSize(), height = req.height() > 0 ? req.height() : model.defaultSize();
        if (width % f != 0 || height % f != 0)
            throw new IllegalArgumentException("image size " + width + "x" + height + " must be a multiple of " + f);
        int n = req.images(), h = height / f, w = width / f, c = model.unet().config().inChannels();
        double g = guidanceScale(req);
        boolean guided = g > 1.0;
        Map<String, Double> seconds = new LinkedHashMap<>();

        try (Scope scope = Scope.open()) {
            long t0 = System.nanoTime();
            Conditioning cond = conditioning(req, n, guided, width, height, listener);
            ControlStage controlStage = control == null ? null : ControlStage.prepare(control, model.unet().config(), width, height, model.device());
            seconds.put("text encoder", phase(listener, "text encoder", t0));

            Scheduler scheduler = Samplers.create(req.sampler(), model.scheduler());
            scheduler.setTimesteps(req.steps());
            NoiseSource noise = req.noise().source(req.seed());
            float[] latents;
            int start = 0;
            t0 = System.nanoTime();
            if (req.initImage() != null) {
                start = Math.max(req.steps() - Math.min((int) (req.steps() * req.strength()), req.steps()), 0);
                if (start >= scheduler.numSteps()) throw new IllegalArgumentException("strength " + req.strength() + " leaves no steps to run");
                float[] init = Latents.repeat(encodeImage(req.initImage(), width, height, noise), n);
                latents = scheduler.addNoise(init, Latents.gaussianNhwc(noise, n, c, h, w), start);
                seconds.put("vae encode", phase(listener, "vae encode", t0));
            } else {
                latents = Latents.scale(Latents.gaussianNhwc(noise, n, c, h, w), scheduler.initNoiseSigma());
            }
            latents = hook.initial(latents, h * w * c);

            t0 = System.nanoTime();
            int total = scheduler.numSteps() - start;
            int[] batchShape = {guided ? 2 * n : n, h, w, c};
            listener.onStart(total);
            try (UNetGraph graph = UNetGraph.of(model.unet(), model.device(), controlStage, cudaGraphs, (x, t) -> conditioned(x, t, cond))) {
                for (int i = start; i < scheduler.numSteps(); i++) {
                    float[] modelIn = scheduler.scaleModelInput(latents, i);
                    float[] batch = guided ? Latents.twice(modelIn) : modelIn;
                    ControlStage.Plan plan = controlStage == null ? null
                            : controlStage.plan(i - start, total, scheduler.timestep(i), n, guided, batchShape[0]);
                    UnaryOperator<UNetInput> withControl = in -> plan == null ? in : controlStage.apply(in, plan);
                    float[] out;
                    if (graph != null) {
                        out = graph.forward(batch, batchShape, scheduler.timestep(i), plan, withControl, listener);
                    } else {
                        try (Scope step = Scope.open()) {
                            UNetInput in = conditioned(onDevice(Tensor.of(batch, batchShape)), scheduler.timestep(i), cond)
                                    .withStep(StepContext.of(i - start, total, scheduler.timestep(i)));
                            out = host(model.unet().forward(withControl.apply(in)));
                        }
                    }
                    float[] eps = guided ? Guidance.apply(out, n, g, req.guidanceRescale()) : out;
                    latents = hook.afterStep(i - start, scheduler.step(eps, i, latents, noise), h * w * c);
                    listener.onStep(i - start + 1, total);
                }
            }
            seconds.put("denoise", phase(listener, "denoise", t0));

            t0 = System.nanoTime();
            Tensor images = VaeDecoding.decode(model.vae(), onDevice(Tensor.of(latents, n, h, w, c)), tiling, listener);
            List<RgbImage> rgb = Pixels.toRgb(images.device().isCpu() ? images : Ops.to(images, Device.CPU));
            seconds.put("vae decode", phase(listener, "vae decode", t0));
            List<String> params = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++)
                params.add(parameters(req, req.prompts().get(i), g, width, height) + (controlStage != null ? ", " + controlStage.describe() : ""));
            return new GenerationResult(rgb, params, seconds);
        }
    }

    /** The UNet input of one step before per-step extras: sample, timestep and the prompt conditioning. */
    private UNetInput conditioned(Tensor x, float t, Conditioning cond) {
        UNetInput in = UNetInput.of(x, t, cond.context);
        return model.isXl() ? in.withTextTime(cond.pooled, cond.timeIds) : in;
    }

    /** Context (and SDXL pooled/time ids) for the whole UNet batch, [uncond; cond] when guided. */
    private record Conditioning(Tensor context, Tensor pooled, Tensor timeIds) {}

    private Conditioning conditioning(GenerationRequest req, int n, boolean guided, int width, int height, StepListener listener) {
        TextConditioning pos = model.prompts().encode(req.prompts());
        warnTruncated(pos, "prompt", listener);
        Tensor context = pos.context(), pooled = pos.pooled();
        if (guided) {
            TextConditioning neg = req.negativePrompt() == null && model.forceZerosForEmptyPrompt()
                    ? model.prompts().zeros(n)
                    : model.prompts().encode(Collections.nCopies(n, req.negativePrompt() == null ? "" : req.negativePrompt()));
            warnTruncated(neg, "negative prompt", listener);
            context = Ops.concat(0, neg.context(), pos.context());
            if (pooled != null) pooled = Ops.concat(0, neg.pooled(), pos.pooled());
        }
        Tensor timeIds = null;
        if (model.isXl()) {
            int rows = guided ? 2 * n : n;
            float[] ids = new float[rows * 6];
            int[] sizes = req.sdxlSizes() != null ? req.sdxlSizes() : new int[]{height, width, 0, 0, height, width};
            for (int r = 0; r < rows; r++) // original size, crop top-left, target size
                for (int k = 0; k < 6; k++) ids[r * 6 + k] = sizes[k];
            timeIds = onDevice(Tensor.of(ids, rows, 6));
        }
        return new Conditioning(context, pooled, timeIds);
    }

    private static void warnTruncated(TextConditioning tc, String what, StepListener listener) {
        int dropped = 0;
        for (int d : tc.droppedTokens()) dropped = Math.max(dropped, d);
        if (dropped > 0)
            listener.onWarning("the " + what + " is longer than the text encoder's 77 tokens: " + dropped + " token(s) were dropped");
    }

    /** VAE-encodes an image-to-image source: a sample of the latent distribution times the scaling factor. */
    private float[] encodeImage(RgbImage image, int width, int height, NoiseSource noise) {
        try (Scope s = Scope.open()) {
            Tensor px = onDevice(Pixels.fromRgb(Images.fit(image, width, height)));
            LatentDistribution d = model.vae().encode(px);
            int h = d.mean().dim(1), w = d.mean().dim(2), c = d.mean().dim(3);
            Tensor eps = onDevice(Tensor.of(Latents.gaussianNhwc(noise, 1, c, h, w), 1, h, w, c));
            float[] z = host(Ops.scale(d.sample(eps), model.vae().scalingFactor()));
            d.close();
            return z;
        }
    }

    private Tensor onDevice(Tensor cpu) { return model.device().isCpu() ? cpu : Ops.to(cpu, model.device()); }

    /** A tensor's values on the host (copied from the device when needed). */
    static float[] host(Tensor t) {
        if (t.device().isCpu()) return t.toFloatArray();
        try (Tensor h = Ops.to(t, Device.CPU)) {
            return h.toFloatArray();
        }
    }

    private static double phase(StepListener l, String name, long t0) {
        double s = (System.nanoTime() - t0) / 1e9;
        l.onPhase(name, s);
        return s;
    }

    /** The A1111-style parameters text other tools read from the PNG. */
    String parameters(GenerationRequest r, String prompt, double g, int width, int height) {
        StringBuilder sb = new StringBuilder(prompt);
        if (r.negativePrompt() != null) sb.append("\nNegative prompt: ").append(r.negativePrompt());
        sb.append(String.format(Locale.ROOT, "\nSteps: %d, Sampler: %s, CFG scale: %s, Seed: %d, Size: %dx%d, Model: %s, Noise: %s",
                r.steps(), r.sampler(), trim(g), r.seed(), width, height, model.description(), r.noise().name().toLowerCase(Locale.ROOT)));
        if (r.guidanceRescale() > 0) sb.append(", Guidance rescale: ").append(trim(r.guidanceRescale()));
        if (r.eta() > 0) sb.append(", Eta: ").append(trim(r.eta()));
        if (r.initImage() != null) sb.append(", Denoising strength: ").append(trim(r.strength()));
        sb.append(", Version: diffuse4j 0.1.0");
        return sb.toString();
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%s", v);
    }
}
