package dev.diffuse4j.model.vae;

import dev.diffuse4j.model.attention.Attention;
import dev.diffuse4j.model.nn.GroupNorm;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.model.nn.ResnetBlock2D;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/**
 * diffusers UNetMidBlock2D as the VAE uses it: resnet, attention, resnet, no time embedding. The
 * attention is single-head over all channels with q/k/v biases, a GroupNorm on its input
 * ({@code group_norm}) and the input added back (residual_connection, rescale 1).
 */
public final class VaeMidBlock {
    private final ResnetBlock2D resnet0, resnet1;
    private final GroupNorm groupNorm;
    private final Attention attention;

    private VaeMidBlock(ResnetBlock2D resnet0, GroupNorm groupNorm, Attention attention, ResnetBlock2D resnet1) {
        this.resnet0 = resnet0;
        this.groupNorm = groupNorm;
        this.attention = attention;
        this.resnet1 = resnet1;
    }

    static VaeMidBlock of(Params p, int channels, int groups) {
        Params a = p.at("attentions").at(0);
        return new VaeMidBlock(
                ResnetBlock2D.of(p.at("resnets").at(0), channels, channels, 0, groups, VaeConfig.NORM_EPS),
                GroupNorm.of(a.at("group_norm"), groups, channels, VaeConfig.NORM_EPS),
                Attention.of(a, channels, channels, 1, true),
                ResnetBlock2D.of(p.at("resnets").at(1), channels, channels, 0, groups, VaeConfig.NORM_EPS));
    }

    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor h = resnet0.forward(x, null);
            int b = h.dim(0), height = h.dim(1), width = h.dim(2), c = h.dim(3);
            Tensor tokens = groupNorm.forward(h).reshape(b, height * width, c);
            Tensor attended = attention.plain(tokens, null).reshape(b, height, width, c);
            Tensor withResidual = Ops.add(attended, h);
            return s.keep(resnet1.forward(withResidual, null));
        }
    }
}
