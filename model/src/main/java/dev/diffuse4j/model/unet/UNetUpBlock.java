package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.model.nn.ResnetBlock2D;
import dev.diffuse4j.model.nn.Upsample2D;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * diffusers CrossAttnUpBlock2D / UpBlock2D: layers_per_block + 1 layers, each
 * {@code resnet(cat([x, skip], channels))} (x first) then, with attention, a Transformer2DModel;
 * then an Upsample2D except in the last block. Skips are consumed last-in first-out.
 */
public final class UNetUpBlock {
    private final String name;
    private final List<ResnetBlock2D> resnets;
    private final List<Transformer2DModel> attentions; // empty for UpBlock2D
    private final Upsample2D upsampler; // null in the last block

    private UNetUpBlock(String name, List<ResnetBlock2D> resnets, List<Transformer2DModel> attentions, Upsample2D upsampler) {
        this.name = name;
        this.resnets = List.copyOf(resnets);
        this.attentions = List.copyOf(attentions);
        this.upsampler = upsampler;
    }

    static UNetUpBlock of(Params root, UNetConfig c, int index, Function<String, LayerInfo> layers) {
        Params p = root.at("up_blocks").at(index);
        int level = c.upLevel(index), n = c.levels();
        int out = c.channels(level);
        int prevOut = index == 0 ? c.channels(n - 1) : c.channels(level + 1);
        int skipIn = c.channels(Math.max(level - 1, 0)); // width of the skips that came before this level
        List<ResnetBlock2D> resnets = new ArrayList<>();
        List<Transformer2DModel> attentions = new ArrayList<>();
        int layersHere = c.layersPerBlock() + 1;
        for (int l = 0; l < layersHere; l++) {
            int skip = l == layersHere - 1 ? skipIn : out;
            int resIn = l == 0 ? prevOut : out;
            resnets.add(ResnetBlock2D.of(p.at("resnets").at(l), resIn + skip, out, c.timeEmbedDim(), c.normNumGroups(), c.normEps()));
            if (c.upHasAttention(index))
                attentions.add(Transformer2DModel.of(p.at("attentions").at(l), out, c.heads(level), c.transformerDepth(level),
                        c.crossAttentionDim(), c.useLinearProjection(), c.normNumGroups(), layers));
        }
        Upsample2D up = index == n - 1 ? null : Upsample2D.of(p.at("upsamplers").at(0), out);
        return new UNetUpBlock("up_blocks." + index, resnets, attentions, up);
    }

    /** How many skips this block consumes. */
    public int skipCount() { return resnets.size(); }

    /**
     * @param x          [B, H, W, C] from the block below
     * @param skips      this block's skips, in the order they are consumed (last pushed first)
     * @param upsampleTo the size of the next block's first skip (diffusers' upsample_size), or null
     */
    public Tensor forward(Tensor x, List<Tensor> skips, Tensor tembSilu, Tensor context, ForwardPass pass, int[] upsampleTo) {
        if (skips.size() != resnets.size())
            throw new IllegalArgumentException(name + ": needs " + resnets.size() + " skips, got " + skips.size());
        Tensor h = x;
        for (int l = 0; l < resnets.size(); l++) {
            Tensor next;
            try (Scope s = Scope.open()) {
                Tensor cat = Ops.concat(-1, h, skips.get(l));
                Tensor r = resnets.get(l).forward(cat, tembSilu, pass.norms());
                cat.close();
                pass.observe(name + ".resnets." + l, r);
                if (!attentions.isEmpty()) {
                    Tensor a = attentions.get(l).forward(r, context, pass);
                    r.close();
                    r = a;
                    pass.observe(name + ".attentions." + l, r);
                }
                next = s.keep(r);
            }
            if (h != x) h.close();
            h = next;
        }
        if (upsampler != null) {
            Tensor up = upsampleTo == null ? upsampler.forward(h) : upsampler.forward(h, upsampleTo[0], upsampleTo[1]);
            if (h != x) h.close();
            h = up;
            pass.observe(name + ".upsamplers.0", h);
        }
        return h;
    }

    public List<Transformer2DModel> attentions() { return attentions; }
}
