package dev.diffuse4j.model.vae;

import dev.diffuse4j.model.nn.Conv2d;
import dev.diffuse4j.model.nn.GroupNorm;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.model.nn.ResnetBlock2D;
import dev.diffuse4j.model.nn.Upsample2D;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code post_quant_conv} plus the VAE decoder: latents z [B, h, w, latent] (already divided by the
 * scaling factor) to an image [B, 8h, 8w, 3], roughly in [-1, 1] and not clamped. Up blocks are
 * UpDecoderBlock2D over the reversed widths: layers_per_block + 1 resnets, then nearest x2 and a
 * conv, except in the last block.
 */
public final class VaeDecoder {
    private final Conv2d postQuantConv, convIn, convOut;
    private final VaeMidBlock mid;
    private final List<List<ResnetBlock2D>> upResnets;
    private final List<Upsample2D> upsamplers;
    private final GroupNorm convNormOut;
    private final VaeConfig config;

    private VaeDecoder(VaeConfig config, Params root) {
        this.config = config;
        Params p = root.at("decoder");
        int n = config.levels(), groups = config.normNumGroups(), latent = config.latentChannels();
        postQuantConv = Conv2d.same(root.at("post_quant_conv"), latent, latent, 1);
        convIn = Conv2d.same(p.at("conv_in"), latent, config.channels(n - 1), 3);
        mid = VaeMidBlock.of(p.at("mid_block"), config.channels(n - 1), groups);
        upResnets = new ArrayList<>();
        upsamplers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Params b = p.at("up_blocks").at(i);
            int in = config.channels(n - 1 - Math.max(i - 1, 0)), out = config.channels(n - 1 - i);
            List<ResnetBlock2D> resnets = new ArrayList<>();
            for (int j = 0; j <= config.layersPerBlock(); j++)
                resnets.add(ResnetBlock2D.of(b.at("resnets").at(j), j == 0 ? in : out, out, 0, groups, VaeConfig.NORM_EPS));
            upResnets.add(resnets);
            if (i < n - 1) upsamplers.add(Upsample2D.of(b.at("upsamplers").at(0), out));
        }
        convNormOut = GroupNorm.of(p.at("conv_norm_out"), groups, config.channels(0), VaeConfig.NORM_EPS);
        convOut = Conv2d.same(p.at("conv_out"), config.channels(0), config.outChannels(), 3);
    }

    /** Builds from a store whose names are the AutoencoderKL's (decoder.*, post_quant_conv.*). */
    public static VaeDecoder build(VaeConfig config, Params root) { return new VaeDecoder(config, root); }

    /** post_quant_conv then the decoder: [B, h, w, latent] -> [B, 8h, 8w, out_channels]. */
    public Tensor forward(Tensor z) {
        if (z.rank() != 4 || z.dim(3) != config.latentChannels())
            throw new IllegalArgumentException("VAE decoder: latents " + z.describe() + " are not NHWC [B, h, w, " + config.latentChannels() + "]");
        // Activations reach [B, 8h, 8w, 128] (512 MB per 1024px image in F32): each one is freed as soon as the next exists.
        try (Scope s = Scope.open()) {
            Tensor x = convIn.forward(postQuantConv.forward(z));
            x = replace(x, mid.forward(x));
            for (int i = 0; i < upResnets.size(); i++) {
                for (ResnetBlock2D r : upResnets.get(i)) x = replace(x, r.forward(x, null));
                if (i < upsamplers.size()) x = replace(x, upsamplers.get(i).forward(x));
            }
            Tensor h = convNormOut.forwardSilu(x);
            x.close();
            return s.keep(convOut.forward(h));
        }
    }

    static Tensor replace(Tensor old, Tensor next) {
        old.close();
        return next;
    }
}
