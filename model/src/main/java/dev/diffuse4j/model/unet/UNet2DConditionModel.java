package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.attention.AttentionProcessors;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.nn.Conv2d;
import dev.diffuse4j.model.nn.GroupNorm;
import dev.diffuse4j.model.nn.GroupNormProcessor;
import dev.diffuse4j.model.nn.ModelWeights;
import dev.diffuse4j.model.nn.ParamStore;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.weights.ParamSpec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * diffusers UNet2DConditionModel for SD1.x/SD2.x/SDXL, channels-last: time embedding (plus SDXL's
 * text_time added conditioning), conv_in, down blocks pushing skips, mid block, up blocks popping
 * them, GroupNorm + SiLU, conv_out. Parameters use diffusers names; see {@link LdmUNetMapping} for
 * single-file checkpoints. Every attention layer runs through its installed processor
 * ({@link #processors()}).
 */
public final class UNet2DConditionModel implements AutoCloseable {
    private final UNetConfig config;
    private final Conv2d convIn;
    private final TimeConditioning time;
    private final List<UNetDownBlock> downBlocks;
    private final UNetMidBlock midBlock;
    private final List<UNetUpBlock> upBlocks;
    private final GroupNorm convNormOut;
    private final Conv2d convOut;
    private final AttentionProcessors processors;
    private GroupNormProcessor norms = GroupNormProcessor.PLAIN;
    private DType activations = DType.F32; // storage type of the hidden states (see Placement)
    private ModelWeights weights; // null when the caller owns the tensors

    private UNet2DConditionModel(UNetConfig config, Params p) {
        this.config = config;
        List<LayerInfo> layers = UNetLayers.of(config, config.sampleSize(), config.sampleSize());
        Map<String, LayerInfo> byName = new HashMap<>();
        for (LayerInfo l : layers) byName.put(p.name(l.name()), l);
        int ch0 = config.channels(0);
        convIn = Conv2d.same(p.at("conv_in"), config.inChannels(), ch0, 3);
        time = TimeConditioning.of("UNet", config, p);
        downBlocks = new ArrayList<>();
        for (int b = 0; b < config.levels(); b++) downBlocks.add(UNetDownBlock.of(p, config, b, byName::get));
        midBlock = UNetMidBlock.of(p, config, byName::get);
        upBlocks = new ArrayList<>();
        for (int b = 0; b < config.levels(); b++) upBlocks.add(UNetUpBlock.of(p, config, b, byName::get));
        convNormOut = GroupNorm.of(p.at("conv_norm_out"), config.normNumGroups(), ch0, config.normEps());
        convOut = Conv2d.same(p.at("conv_out"), ch0, config.outChannels(), 3);
        processors = new AttentionProcessors(layers);
    }

    /** Builds the model from a store (diffusers parameter names); the caller owns the tensors. */
    public static UNet2DConditionModel build(UNetConfig config, ParamStore store) {
        return new UNet2DConditionModel(config, Params.root(store));
    }

    /** The parameters this config needs, in diffusers naming. */
    public static List<ParamSpec> parameters(UNetConfig config) { return ModelWeights.specs(s -> build(config, s)); }

    /** Takes ownership of loaded weights (closed with the model). */
    UNet2DConditionModel owning(ModelWeights w) {
        this.weights = w;
        return this;
    }

    /** The storage type of the hidden states (F32 unless loaded otherwise); the prediction is always F32. */
    public DType activations() { return activations; }

    /**
     * Sets the storage type of the hidden states: F32, F16 or BF16. Inputs are converted on entry,
     * so callers pass F32 latents and conditioning either way (see {@link Placement}).
     */
    public UNet2DConditionModel activations(DType t) {
        this.activations = new Placement(Device.CPU, t).activations();
        return this;
    }

    public UNetConfig config() { return config; }

    /** Every attention layer in diffusers' attn_processors order, at the config's sample size. */
    public List<LayerInfo> layers() { return processors.layers(); }

    /** Every attention layer with the grid sizes of a latent of {@code height x width}. */
    public List<LayerInfo> layers(int height, int width) { return UNetLayers.of(config, height, width); }

    /** The installed attention processors; install by predicate over {@link LayerInfo}. */
    public AttentionProcessors processors() { return processors; }

    /** How every GroupNorm of the UNet is computed (default {@link GroupNormProcessor#PLAIN}). Install between passes. */
    public GroupNormProcessor groupNorms() { return norms; }

    /** Installs a GroupNorm processor for every GroupNorm layer; null restores the plain one. */
    public void groupNorms(GroupNormProcessor p) { this.norms = p == null ? GroupNormProcessor.PLAIN : p; }

    // ---------------------------------------------------------------- forward

    /** Predicts the noise (or v) for NHWC latents; returns F32 [B, H, W, out_channels]. */
    public Tensor forward(UNetInput in) {
        try (Scope s = Scope.open()) {
            ForwardPass pass = pass(in);
            Tensor x = hiddenStates(in, upBlocks.size(), pass);
            Tensor out = convOut.forward(pass.norms().apply(convNormOut, x, true));
            pass.observe("conv_out", out);
            return s.keep(Placement.as(out, DType.F32));
        }
    }

    /**
     * The hidden state [B, h, w, C] after the first {@code upBlocks} up blocks (0: after the mid block),
     * without running the rest: what a caller needs when only earlier layers matter, e.g. guidance
     * losses on the attention maps of the middle resolutions (the last, highest-resolution up blocks
     * are the most expensive part of the UNet).
     */
    public Tensor hiddenStates(UNetInput in, int upBlocks) {
        if (upBlocks < 0 || upBlocks > this.upBlocks.size())
            throw new IllegalArgumentException("UNet: " + upBlocks + " up blocks asked for; this UNet has " + this.upBlocks.size());
        try (Scope s = Scope.open()) {
            return s.keep(hiddenStates(in, upBlocks, pass(in)));
        }
    }

    private ForwardPass pass(UNetInput in) {
        Tensor sample = in.sample();
        if (sample.rank() != 4 || sample.dim(3) != config.inChannels())
            throw new IllegalArgumentException("UNet: sample " + sample.describe() + " is not NHWC [B, H, W, " + config.inChannels() + "]");
        Tensor context = in.context();
        int batch = sample.dim(0);
        if (context.rank() != 3 || context.dim(0) != batch || context.dim(2) != config.crossAttentionDim())
            throw new IllegalArgumentException("UNet: context " + context.describe() + " is not [" + batch + ", M, " + config.crossAttentionDim() + "]");
        return new ForwardPass(processors, in.step(), in.observer(), norms);
    }

    /** Time embedding, conv_in, the down blocks, the mid block and the first {@code upBlocks} up blocks (inside the caller's scope). */
    private Tensor hiddenStates(UNetInput in, int upBlocks, ForwardPass pass) {
        Tensor sample = Placement.as(in.sample(), activations), context = Placement.as(in.context(), activations);
        Tensor tembSilu = timeEmbedding(in, sample.dim(0), sample.device(), pass);
        Tensor x = convIn.forward(sample);
        pass.observe("conv_in", x);
        List<Tensor> skips = new ArrayList<>();
        skips.add(x);
        for (UNetDownBlock block : downBlocks) x = block.forward(x, tembSilu, context, pass, skips);
        if (in.controlDown() != null) addControl(skips, in.controlDown());
        x = midBlock.forward(x, tembSilu, context, pass);
        if (in.controlMid() != null) x = Ops.add(x, checkedResidual("mid", x, in.controlMid()));
        for (UNetUpBlock block : this.upBlocks.subList(0, upBlocks)) {
            int n = block.skipCount();
            List<Tensor> mine = new ArrayList<>();
            for (int i = 0; i < n; i++) mine.add(skips.removeLast());
            int[] upsampleTo = skips.isEmpty() ? null : new int[]{skips.getLast().dim(1), skips.getLast().dim(2)};
            Tensor next = block.forward(x, mine, tembSilu, context, pass, upsampleTo);
            for (Tensor t : mine) t.close();
            x.close();
            x = next;
        }
        return x;
    }

    /** SiLU(temb + aug): every resnet applies SiLU to the embedding first, so it is done once here. */
    private Tensor timeEmbedding(UNetInput in, int batch, Device device, ForwardPass pass) {
        Tensor temb = time.forward(in, batch, device, activations);
        pass.observe("time_embedding", temb);
        return Ops.silu(temb);
    }

    /** SDXL's added-conditioning vector (see {@link TimeConditioning#addedConditioning}). */
    public Tensor addedConditioning(Tensor textEmbeds, Tensor timeIds) { return time.addedConditioning(textEmbeds, timeIds); }

    private static void addControl(List<Tensor> skips, List<Tensor> residuals) {
        if (residuals.size() != skips.size())
            throw new IllegalArgumentException("UNet: " + residuals.size() + " ControlNet down residuals for " + skips.size() + " skips");
        // The old skips stay alive until the pass ends: the last one is also the mid block's input.
        for (int i = 0; i < skips.size(); i++) skips.set(i, Ops.add(skips.get(i), checkedResidual("down " + i, skips.get(i), residuals.get(i))));
    }

    /** The residual in x's storage type (a ControlNet may run at another precision). */
    private static Tensor checkedResidual(String which, Tensor x, Tensor r) {
        if (!Arrays.equals(x.shape(), r.shape()))
            throw new IllegalArgumentException("UNet: ControlNet " + which + " residual " + r.describe() + " does not match " + x.describe());
        return Placement.as(r, x.dtype());
    }

    @Override
    public void close() {
        if (weights != null) weights.close();
    }
}
