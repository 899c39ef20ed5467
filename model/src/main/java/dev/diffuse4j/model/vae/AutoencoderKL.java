package dev.diffuse4j.model.vae;

import dev.diffuse4j.model.nn.ModelWeights;
import dev.diffuse4j.model.nn.ParamStore;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.weights.ParamSpec;

import java.util.List;

/**
 * diffusers AutoencoderKL (SD1.x/SDXL VAE), channels-last. Either half may be absent: text-to-image
 * needs only the decoder, so it can be loaded alone ({@link Part}).
 *
 * <p><b>Precision.</b> The SDXL VAE overflows in F16 (NaN or black images), which is why its config
 * sets {@code force_upcast}. The CPU backend always computes in F32 (F16 weights are widened as they
 * are read), so CPU decodes are safe. A GPU path that computes in F16 must decode in F32 when
 * {@link VaeConfig#forceUpcast()} is set, and otherwise check the result with {@link #nonFinite} and
 * redo the decode in F32 (logging that it did) when it finds NaN or infinity.
 */
public final class AutoencoderKL implements AutoCloseable {
    /** Which halves to build. */
    public enum Part { BOTH, ENCODER, DECODER }

    private final VaeConfig config;
    private final VaeEncoder encoder;
    private final VaeDecoder decoder;
    private ModelWeights weights;

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

    public float scalingFactor() { return config.scalingFactor(); }

    /** The latent distribution of images [B, H, W, 3] in [-1, 1]; H and W multiples of 8. */
    public LatentDistribution encode(Tensor image) {
        try (Tensor m = moments(image)) {
            return LatentDistribution.fromMoments(m);
        }
    }

    /** quant_conv(encoder(image)): [B, H/8, W/8, 2 * latent], mean then log-variance, unclamped. */
    public Tensor moments(Tensor image) { return encoderOrFail().moments(image); }

    /**
     * Images [B, 8h, 8w, 3] (about [-1, 1], not clamped) from latents z [B, h, w, 4] that were already
     * divided by {@link #scalingFactor()}.
     */
    public Tensor decode(Tensor z) {
        if (decoder == null) throw new IllegalStateException("AutoencoderKL: this instance was loaded without its decoder");
        return decoder.forward(z);
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
        else try (Tensor host = Ops.to(x, dev.diffuse4j.runtime.Device.CPU)) {
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
