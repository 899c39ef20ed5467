package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.nn.Conv2d;
import dev.diffuse4j.model.nn.GroupNorm;
import dev.diffuse4j.model.nn.Linear;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * diffusers Transformer2DModel for continuous input: GroupNorm (eps 1e-6, fixed in diffusers),
 * proj_in, N BasicTransformerBlocks over the h*w tokens, proj_out, plus the input as residual.
 * SD1.x projects with 1x1 convs; SD2/SDXL ({@code use_linear_projection}) with Linears.
 * In NHWC both are the same matrix product; only the stored shapes differ.
 */
public final class Transformer2DModel {
    static final float GROUP_NORM_EPS = 1e-6f;

    private final GroupNorm norm;
    private final Conv2d convIn, convOut; // use_linear_projection = false
    private final Linear linearIn, linearOut; // use_linear_projection = true
    private final List<BasicTransformerBlock> blocks;
    private final int channels;

    private Transformer2DModel(GroupNorm norm, Conv2d convIn, Linear linearIn, List<BasicTransformerBlock> blocks,
                               Conv2d convOut, Linear linearOut, int channels) {
        this.norm = norm;
        this.convIn = convIn;
        this.linearIn = linearIn;
        this.blocks = List.copyOf(blocks);
        this.convOut = convOut;
        this.linearOut = linearOut;
        this.channels = channels;
    }

    public static Transformer2DModel of(Params p, int channels, int heads, int depth, int contextDim, boolean linearProjection,
                                        int groups, Function<String, LayerInfo> layers) {
        GroupNorm norm = GroupNorm.of(p.at("norm"), groups, channels, GROUP_NORM_EPS);
        Conv2d convIn = linearProjection ? null : Conv2d.same(p.at("proj_in"), channels, channels, 1);
        Linear linearIn = linearProjection ? Linear.of(p.at("proj_in"), channels, channels, true) : null;
        List<BasicTransformerBlock> blocks = new ArrayList<>();
        for (int k = 0; k < depth; k++)
            blocks.add(BasicTransformerBlock.of(p.at("transformer_blocks").at(k), channels, heads, contextDim, layers));
        Conv2d convOut = linearProjection ? null : Conv2d.same(p.at("proj_out"), channels, channels, 1);
        Linear linearOut = linearProjection ? Linear.of(p.at("proj_out"), channels, channels, true) : null;
        return new Transformer2DModel(norm, convIn, linearIn, blocks, convOut, linearOut, channels);
    }

    /** @param x [B, H, W, C]; context [B, M, Cctx]; returns a new [B, H, W, C] */
    public Tensor forward(Tensor x, Tensor context, ForwardPass pass) {
        if (x.rank() != 4 || x.dim(3) != channels)
            throw new IllegalArgumentException("Transformer2DModel(" + channels + "): input " + x.describe() + " is not [B, H, W, " + channels + "]");
        int b = x.dim(0), h = x.dim(1), w = x.dim(2);
        try (Scope s = Scope.open()) {
            Tensor n = pass.norms().apply(norm, x, false);
            Tensor tokens = convIn != null ? convIn.forward(n).reshape(b, h * w, channels) : linearIn.forward(n.reshape(b, h * w, channels));
            n.close();
            for (BasicTransformerBlock block : blocks) {
                Tensor next = block.forward(tokens, context, pass, h, w);
                tokens.close();
                tokens = next;
            }
            if (convOut != null) return s.keep(convOut.forward(tokens.reshape(b, h, w, channels), x));
            return s.keep(Ops.add(linearOut.forward(tokens).reshape(b, h, w, channels), x));
        }
    }

    public List<BasicTransformerBlock> blocks() { return blocks; }
}
