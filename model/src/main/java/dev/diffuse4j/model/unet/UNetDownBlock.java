package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.nn.Downsample2D;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.model.nn.ResnetBlock2D;
import dev.diffuse4j.runtime.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * diffusers CrossAttnDownBlock2D (resnet then Transformer2DModel per layer) or DownBlock2D (resnets
 * only, no attentions), followed by a stride-2 Downsample2D except in the last block. Every layer's
 * output, and the downsampled result, is a skip connection for the up path.
 */
public final class UNetDownBlock {
    private final String name;
    private final List<ResnetBlock2D> resnets;
    private final List<Transformer2DModel> attentions; // empty for DownBlock2D
    private final Downsample2D downsampler; // null in the last block

    private UNetDownBlock(String name, List<ResnetBlock2D> resnets, List<Transformer2DModel> attentions, Downsample2D downsampler) {
        this.name = name;
        this.resnets = List.copyOf(resnets);
        this.attentions = List.copyOf(attentions);
        this.downsampler = downsampler;
    }

    /** Block {@code index} of the config; p is the store's root (public: ControlNet builds the same encoder). */
    public static UNetDownBlock of(Params root, UNetConfig c, int index, Function<String, LayerInfo> layers) {
        Params p = root.at("down_blocks").at(index);
        int in = index == 0 ? c.channels(0) : c.channels(index - 1), out = c.channels(index);
        List<ResnetBlock2D> resnets = new ArrayList<>();
        List<Transformer2DModel> attentions = new ArrayList<>();
        for (int l = 0; l < c.layersPerBlock(); l++) {
            resnets.add(ResnetBlock2D.of(p.at("resnets").at(l), l == 0 ? in : out, out, c.timeEmbedDim(), c.normNumGroups(), c.normEps()));
            if (c.downHasAttention(index))
                attentions.add(Transformer2DModel.of(p.at("attentions").at(l), out, c.heads(index), c.transformerDepth(index),
                        c.crossAttentionDim(), c.useLinearProjection(), c.normNumGroups(), layers));
        }
        boolean last = index == c.levels() - 1;
        Downsample2D down = last ? null : Downsample2D.of(p.at("downsamplers").at(0), out, Downsample2D.SYMMETRIC);
        return new UNetDownBlock("down_blocks." + index, resnets, attentions, down);
    }

    /** Runs the block on x [B, H, W, C]; appends every skip to {@code skips}; returns the last one. */
    public Tensor forward(Tensor x, Tensor tembSilu, Tensor context, ForwardPass pass, List<Tensor> skips) {
        for (int l = 0; l < resnets.size(); l++) {
            Tensor h = resnets.get(l).forward(x, tembSilu, pass.norms());
            pass.observe(name + ".resnets." + l, h);
            if (!attentions.isEmpty()) {
                Tensor a = attentions.get(l).forward(h, context, pass);
                h.close();
                h = a;
                pass.observe(name + ".attentions." + l, h);
            }
            skips.add(h);
            x = h;
        }
        if (downsampler != null) {
            x = downsampler.forward(x);
            pass.observe(name + ".downsamplers.0", x);
            skips.add(x);
        }
        return x;
    }

    /** How many skip tensors this block produces. */
    public int skipCount() { return resnets.size() + (downsampler != null ? 1 : 0); }

    public List<Transformer2DModel> attentions() { return attentions; }
}
