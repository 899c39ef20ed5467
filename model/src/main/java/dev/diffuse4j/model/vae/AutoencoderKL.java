package dev.diffuse4j.model.vae;

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

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * diffusers AutoencoderKL (SD1.x/SDXL VAE), channels-last. Either half may be absent: text-to-image
 * needs only the decoder, so it can be loaded alone ({@link Part}).
 *
 * <p><b>Precision.</b> Encoder and decoder run with their hidden states in {@link #activations()}
 * (see {@link Placement}) and return F32. The SDXL VAE overflows in F16 (NaN or black images), which
 * is why its config sets {@code force_upcast} and the loader then keeps it in F32. Any other
 * half-precision pass whose result is not finite, from finite input, is redone in F32 (the weights
 * stay as they are; every op reads them at any float type) and counted in {@link #upcasts()}.
 */
public final class AutoencoderKL implements AutoCloseable {
    /** Which halves to build. */
    public enum Part { BOTH, ENCODER, DECODER }

    private final VaeConfig config;
    private final VaeEncoder encoder;
    private final VaeDecoder decoder;
    private ModelWeights weights;
    private DType activations = DType.F32;
    private final AtomicInteger upcasts = new AtomicInteger();

    private AutoencoderKL(VaeConfig config, VaeEncoder encoder, VaeDecoder decoder) {
        this.config = config;
        this.encoder = encoder;
        this.decoder = decoder;
    }

    /** Builds from a store with diffusers names (encoder.*, quant_conv.*, post_quant_conv.*, decoder.*). */
    public static AutoencoderKL build(VaeConfig config, ParamStore store, Part part) {
        Params root = Params.root(store);
        return new AutoencoderKL(config,
                part != Part.DECODER ? VaeEncoder.build(config, root) : null,
                part != Part.ENCODER ? VaeDecoder.build(config, root) : null);
    }

    public static List<ParamSpec> parameters(VaeConfig config, Part part) { return ModelWeights.specs(s -> build(config, s, part)); }

    AutoencoderKL owning(ModelWeights w) {
        this.weights = w;
        return this;
    }

    public VaeConfig config() { return config; }

    /** The storage type of the hidden states (F32 unless loaded otherwise); results are F32. */
    public DType activations() { return activations; }

    /** Sets the storage type of the hidden states: F32, F16 or BF16. */
    public AutoencoderKL activations(DType t) {
        this.activations = new Placement(Device.CPU, t).activations();
        return this;
    }

    /** How many half-precision passes overflowed and were redone in F32. */
    public int upcasts() { return upcasts.get(); }

    public float scalingFactor() { return config.scalingFactor(); }

    /** The latent distribution of images [B, H, W, 3] in [-1, 1]; H and W multiples of 8. */
    public LatentDistribution encode(Tensor image) {
        try (Tensor m = moments(image)) {
            return LatentDistribution.fromMoments(m);
        }
    }

    /** quant_conv(encoder(image)): [B, H/8, W/8, 2 * latent], mean then log-variance, unclamped. */
    public Tensor moments(Tensor image) {
        VaeEncoder e = encoderOrFail();
        return inPrecision(e::moments, image);
    }

    /**
     * Images [B, 8h, 8w, 3] (about [-1, 1], not clamped) from latents z [B, h, w, 4] that were already
     * divided by {@link #scalingFactor()}.
     */
    public Tensor decode(Tensor z) {
        if (decoder == null) throw new IllegalStateException("AutoencoderKL: this instance was loaded without its decoder");
        return inPrecision(decoder::forward, z);
    }

    /** f over x in the activation type, as F32; redone in F32 when a half-precision pass overflowed. */
    private Tensor inPrecision(UnaryOperator<Tensor> f, Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor out = Placement.as(f.apply(Placement.as(x, activations)), DType.F32);
            if (activations != DType.F32 && nonFinite(out) > 0 && nonFinite(x) == 0) {
                upcasts.incrementAndGet();
                out = Placement.as(f.apply(Placement.as(x, DType.F32)), DType.F32);
            }
            return s.keep(out);
        }
    }

    /** Latents as the UNet sees them: decode(latents / scaling_factor). */
    public Tensor decodeScaled(Tensor latents) {
        try (Tensor z = Ops.scale(latents, 1f / config.scalingFactor())) {
            return decode(z);
        }
    }

    /** How many elements of x are NaN or infinite (an F16 decode that overflowed). */
    public static long nonFinite(Tensor x) {
        float[] v;
        if (x.device().isCpu()) v = x.toFloatArray();
        else try (Tensor host = Ops.to(x, Device.CPU)) {
            v = host.toFloatArray();
        }
        long n = 0;
        for (float f : v) if (!Float.isFinite(f)) n++;
        return n;
    }

    private VaeEncoder encoderOrFail() {
        if (encoder == null) throw new IllegalStateException("AutoencoderKL: this instance was loaded without its encoder");
        return encoder;
    }

    @Override
    public void close() {
        if (weights != null) weights.close();
    }
}
