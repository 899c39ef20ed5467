package dev.diffuse4j.model.controlnet;

import dev.diffuse4j.model.attention.AttentionProcessors;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.nn.Conv2d;
import dev.diffuse4j.model.nn.ModelWeights;
import dev.diffuse4j.model.nn.ParamStore;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.model.unet.ForwardPass;
import dev.diffuse4j.model.unet.TimeConditioning;
import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.unet.UNetDownBlock;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.model.unet.UNetLayers;
import dev.diffuse4j.model.unet.UNetMidBlock;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.weights.ParamSpec;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * diffusers ControlNetModel (SD1.5 and SDXL), channels-last: a trainable copy of the UNet's encoder
 * (time and added embeddings, conv_in, down blocks, mid block — the UNet's own block classes) whose
 * input is the noisy latent plus the embedded control image, and a 1x1 "zero conv" on every
 * down-path skip and on the mid block's output. Those outputs, times the conditioning scale, are the
 * residuals the UNet adds to its skips and mid block ({@link ControlNetOutput}).
 */
public final class ControlNetModel implements AutoCloseable {
    private final ControlNetConfig config;
    private final Conv2d convIn;
    private final TimeConditioning time;
    private final ConditioningEmbedding condEmbedding;
    private final List<UNetDownBlock> downBlocks;
    private final List<Conv2d> zeroConvs; // controlnet_down_blocks, one per skip
    private final UNetMidBlock midBlock;
    private final Conv2d midZeroConv; // controlnet_mid_block
    private final AttentionProcessors processors;
    private final List<AutoCloseable> owned = new ArrayList<>();
    private DType activations = DType.F32; // storage type of the hidden states and residuals (see Placement)

    private ControlNetModel(ControlNetConfig config, Params p) {
        this.config = config;
        UNetConfig c = config.unet();
        List<LayerInfo> layers = UNetLayers.encoder(c, c.sampleSize(), c.sampleSize());
        Map<String, LayerInfo> byName = new HashMap<>();
        for (LayerInfo l : layers) byName.put(p.name(l.name()), l);
        int ch0 = c.channels(0);
        convIn = Conv2d.same(p.at("conv_in"), c.inChannels(), ch0, 3);
        time = TimeConditioning.of("ControlNet", c, p);
        condEmbedding = ConditioningEmbedding.of(p.at("controlnet_cond_embedding"), config.conditioningChannels(), config.embeddingChannels(), ch0);
        downBlocks = new ArrayList<>();
        zeroConvs = new ArrayList<>();
        Params zc = p.at("controlnet_down_blocks");
        zeroConvs.add(Conv2d.same(zc.at(0), ch0, ch0, 1));
        for (int b = 0; b < c.levels(); b++) {
            UNetDownBlock block = UNetDownBlock.of(p, c, b, byName::get);
            downBlocks.add(block);
            for (int i = 0; i < block.skipCount(); i++) zeroConvs.add(Conv2d.same(zc.at(zeroConvs.size()), c.channels(b), c.channels(b), 1));
        }
        midBlock = UNetMidBlock.of(p, c, byName::get);
        int last = c.channels(c.levels() - 1);
        midZeroConv = Conv2d.same(p.at("controlnet_mid_block"), last, last, 1);
        processors = new AttentionProcessors(layers);
    }

    /** Builds the model from a store (diffusers parameter names); the caller owns the tensors. */
    public static ControlNetModel build(ControlNetConfig config, ParamStore store) { return new ControlNetModel(config, Params.root(store)); }

    /** The parameters this config needs, in diffusers naming. */
    public static List<ParamSpec> parameters(ControlNetConfig config) { return ModelWeights.specs(s -> build(config, s)); }

    /** Takes ownership of what backs the weights (closed with the model, in this order). */
    ControlNetModel owning(AutoCloseable... resources) {
        owned.addAll(List.of(resources));
        return this;
    }

    public ControlNetConfig config() { return config; }

    /** The storage type of the hidden states and of the residuals it returns (F32 unless loaded otherwise). */
    public DType activations() { return activations; }

    /** Sets the storage type of the hidden states and residuals: F32, F16 or BF16 (inputs are converted on entry). */
    public ControlNetModel activations(DType t) {
        this.activations = new Placement(Device.CPU, t).activations();
        return this;
    }

    /** The attention layers of the copied encoder (plain unless something is installed). */
    public AttentionProcessors processors() { return processors; }

    /** How many down residuals it produces (= the UNet's skip count). */
    public int downResiduals() { return zeroConvs.size(); }

    /**
     * Residuals for one UNet call.
     *
     * @param in    the UNet's input: sample, timesteps, context, SDXL added conditioning, step
     * @param cond  the control image [B or 1, H*f, W*f, conditioning_channels] in [0, 1], f = {@link ControlNetConfig#scaleFactor()}
     * @param scale conditioning scale (multiplies every residual)
     */
    public ControlNetOutput forward(UNetInput in, Tensor cond, float scale) {
        Tensor sample = in.sample();
        int f = config.scaleFactor();
        if (sample.rank() != 4 || cond.rank() != 4 || (cond.dim(0) != sample.dim(0) && cond.dim(0) != 1)
                || cond.dim(1) != sample.dim(1) * f || cond.dim(2) != sample.dim(2) * f || cond.dim(3) != config.conditioningChannels())
            throw new IllegalArgumentException("ControlNet: control image " + cond.describe() + " does not match sample " + sample.describe()
                    + " (expected [" + sample.dim(0) + ", " + sample.dim(1) * f + ", " + sample.dim(2) * f + ", " + config.conditioningChannels() + "], or a batch of 1)");
        try (Scope s = Scope.open()) { // frees the embedding; the residuals move to the caller's scope
            ControlNetOutput r = forwardEmbedded(in, embed(cond), scale);
            s.keepAll(r.down());
            s.keep(r.mid());
            return r;
        }
    }

    /**
     * The conditioning embedding of a control image [B, H*f, W*f, conditioning_channels]:
     * {@code controlnet_cond_embedding}, added to conv_in's output. It depends on the image alone, so a
     * pipeline computes it once per generation (for one image, broadcast over the batch).
     */
    public Tensor embed(Tensor cond) {
        try (Scope s = Scope.open()) {
            return s.keep(condEmbedding.forward(Placement.as(cond, activations)));
        }
    }

    /** Residuals from an embedding made by {@link #embed} ([B or 1, H, W, C] at the latent size). */
    public ControlNetOutput forwardEmbedded(UNetInput in, Tensor embedded, float scale) {
        UNetConfig c = config.unet();
        Tensor sample = in.sample();
        if (sample.rank() != 4 || sample.dim(3) != c.inChannels())
            throw new IllegalArgumentException("ControlNet: sample " + sample.describe() + " is not NHWC [B, H, W, " + c.inChannels() + "]");
        int batch = sample.dim(0);
        if (embedded.rank() != 4 || (embedded.dim(0) != batch && embedded.dim(0) != 1) || embedded.dim(1) != sample.dim(1)
                || embedded.dim(2) != sample.dim(2) || embedded.dim(3) != c.channels(0))
            throw new IllegalArgumentException("ControlNet: conditioning embedding " + embedded.describe() + " does not match sample " + sample.describe());
        Tensor context = in.context();
        if (context.rank() != 3 || context.dim(0) != batch || context.dim(2) != c.crossAttentionDim())
            throw new IllegalArgumentException("ControlNet: context " + context.describe() + " is not [" + batch + ", M, " + c.crossAttentionDim() + "]");
        ForwardPass pass = new ForwardPass(processors, in.step(), in.observer());
        try (Scope s = Scope.open()) {
            Tensor tembSilu = Ops.silu(time.forward(in, batch, sample.device(), activations));
            context = Placement.as(context, activations);
            Tensor x = Ops.add(convIn.forward(Placement.as(sample, activations)), Placement.as(embedded, activations));
            List<Tensor> skips = new ArrayList<>();
            skips.add(x);
            for (UNetDownBlock block : downBlocks) x = block.forward(x, tembSilu, context, pass, skips);
            Tensor mid = midBlock.forward(x, tembSilu, context, pass);
            List<Tensor> down = new ArrayList<>();
            for (int i = 0; i < skips.size(); i++) down.add(s.keep(scaled(zeroConvs.get(i).forward(skips.get(i)), scale)));
            return new ControlNetOutput(down, s.keep(scaled(midZeroConv.forward(mid), scale)));
        }
    }

    private static Tensor scaled(Tensor t, float scale) { return scale == 1f ? t : Ops.scale(t, scale); }

    @Override
    public void close() {
        for (AutoCloseable r : owned) {
            try {
                r.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing ControlNet weights: " + e.getMessage(), e);
            }
        }
        owned.clear();
    }
}
