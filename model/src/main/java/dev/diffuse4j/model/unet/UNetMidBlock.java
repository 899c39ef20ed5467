package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.model.nn.ResnetBlock2D;
import dev.diffuse4j.runtime.Tensor;

import java.util.function.Function;

/** diffusers UNetMidBlock2DCrossAttn with one attention: resnet, Transformer2DModel, resnet (width kept). */
public final class UNetMidBlock {
    private final ResnetBlock2D resnet0, resnet1;
    private final Transformer2DModel attention;

    private UNetMidBlock(ResnetBlock2D resnet0, Transformer2DModel attention, ResnetBlock2D resnet1) {
        this.resnet0 = resnet0;
        this.attention = attention;
        this.resnet1 = resnet1;
    }

    public static UNetMidBlock of(Params root, UNetConfig c, Function<String, LayerInfo> layers) {
        Params p = root.at("mid_block");
        int last = c.levels() - 1, ch = c.channels(last);
        return new UNetMidBlock(
                ResnetBlock2D.of(p.at("resnets").at(0), ch, ch, c.timeEmbedDim(), c.normNumGroups(), c.normEps()),
                Transformer2DModel.of(p.at("attentions").at(0), ch, c.heads(last), c.transformerDepth(last), c.crossAttentionDim(),
                        c.useLinearProjection(), c.normNumGroups(), layers),
                ResnetBlock2D.of(p.at("resnets").at(1), ch, ch, c.timeEmbedDim(), c.normNumGroups(), c.normEps()));
    }

    public Tensor forward(Tensor x, Tensor tembSilu, Tensor context, ForwardPass pass) {
        Tensor h = resnet0.forward(x, tembSilu, pass.norms());
        pass.observe("mid_block.resnets.0", h);
        Tensor a = attention.forward(h, context, pass);
        h.close();
        pass.observe("mid_block.attentions.0", a);
        Tensor out = resnet1.forward(a, tembSilu, pass.norms());
        a.close();
        pass.observe("mid_block.resnets.1", out);
        return out;
    }

    public Transformer2DModel attention() { return attention; }
}
