package dev.diffuse4j.model.vae;

import dev.diffuse4j.model.nn.Conv2d;
import dev.diffuse4j.model.nn.Downsample2D;
import dev.diffuse4j.model.nn.GroupNorm;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.model.nn.ResnetBlock2D;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The VAE encoder plus {@code quant_conv}: image [B, H, W, 3] in [-1, 1] to the moments
 * [B, H/8, W/8, 2 * latent] (mean, then log-variance). Down blocks are DownEncoderBlock2D: resnets,
 * then a stride-2 conv padded on the right and bottom only, except in the last block.
 */
public final class VaeEncoder {
    private final Conv2d convIn, convOut, quantConv;
    private final List<List<ResnetBlock2D>> downResnets;
    private final List<Downsample2D> downsamplers; // one fewer than the levels
    private final VaeMidBlock mid;
    private final GroupNorm convNormOut;
    private final VaeConfig config;

    private VaeEncoder(VaeConfig config, Params root) {
        this.config = config;
        Params p = root.at("encoder");
        int n = config.levels(), groups = config.normNumGroups(), last = config.channels(n - 1);
        convIn = Conv2d.same(p.at("conv_in"), config.inChannels(), config.channels(0), 3);
        downResnets = new ArrayList<>();
        downsamplers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Params b = p.at("down_blocks").at(i);
            int in = i == 0 ? config.channels(0) : config.channels(i - 1), out = config.channels(i);
            List<ResnetBlock2D> resnets = new ArrayList<>();
            for (int j = 0; j < config.layersPerBlock(); j++)
                resnets.add(ResnetBlock2D.of(b.at("resnets").at(j), j == 0 ? in : out, out, 0, groups, VaeConfig.NORM_EPS));
            downResnets.add(resnets);
            if (i < n - 1) downsamplers.add(Downsample2D.of(b.at("downsamplers").at(0), out, Downsample2D.RIGHT_BOTTOM));
        }
        mid = VaeMidBlock.of(p.at("mid_block"), last, groups);
        convNormOut = GroupNorm.of(p.at("conv_norm_out"), groups, last, VaeConfig.NORM_EPS);
        convOut = Conv2d.same(p.at("conv_out"), last, 2 * config.latentChannels(), 3);
        quantConv = Conv2d.same(root.at("quant_conv"), 2 * config.latentChannels(), 2 * config.latentChannels(), 1);
    }

    /** Builds from a store whose names are the AutoencoderKL's (encoder.*, quant_conv.*). */
    public static VaeEncoder build(VaeConfig config, Params root) { return new VaeEncoder(config, root); }

    /** Moments [B, h, w, 2 * latent]: quant_conv(encoder(image)), before any clamp. */
    public Tensor moments(Tensor image) {
        if (image.rank() != 4 || image.dim(3) != config.inChannels())
            throw new IllegalArgumentException("VAE encoder: image " + image.describe() + " is not NHWC [B, H, W, " + config.inChannels() + "]");
        try (Scope s = Scope.open()) {
            Tensor x = convIn.forward(image);
            for (int i = 0; i < downResnets.size(); i++) {
                for (ResnetBlock2D r : downResnets.get(i)) x = VaeDecoder.replace(x, r.forward(x, null));
                if (i < downsamplers.size()) x = VaeDecoder.replace(x, downsamplers.get(i).forward(x));
            }
            x = VaeDecoder.replace(x, mid.forward(x));
            x = VaeDecoder.replace(x, convOut.forward(convNormOut.forwardSilu(x)));
            return s.keep(quantConv.forward(x));
        }
    }
}
