package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.attention.Attention;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.nn.LayerNorm;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.function.Function;

/**
 * diffusers BasicTransformerBlock (norm_type "layer_norm", LayerNorm eps 1e-5):
 * {@code x += attn1(norm1(x)); x += attn2(norm2(x), context); x += ff(norm3(x))}.
 */
public final class BasicTransformerBlock {
    static final float LAYER_NORM_EPS = 1e-5f;

    private final LayerNorm norm1, norm2, norm3;
    private final Attention attn1, attn2;
    private final LayerInfo attn1Info, attn2Info;
    private final FeedForward ff;

    private BasicTransformerBlock(LayerNorm norm1, Attention attn1, LayerInfo attn1Info, LayerNorm norm2, Attention attn2,
                                  LayerInfo attn2Info, LayerNorm norm3, FeedForward ff) {
        this.norm1 = norm1;
        this.attn1 = attn1;
        this.attn1Info = attn1Info;
        this.norm2 = norm2;
        this.attn2 = attn2;
        this.attn2Info = attn2Info;
        this.norm3 = norm3;
        this.ff = ff;
    }

    /** @param layers where each attention layer sits, by its full parameter prefix ("...attn1") */
    public static BasicTransformerBlock of(Params p, int dim, int heads, int contextDim, Function<String, LayerInfo> layers) {
        return new BasicTransformerBlock(
                LayerNorm.of(p.at("norm1"), dim, LAYER_NORM_EPS), Attention.of(p.at("attn1"), dim, dim, heads, false), layer(layers, p, "attn1"),
                LayerNorm.of(p.at("norm2"), dim, LAYER_NORM_EPS), Attention.of(p.at("attn2"), dim, contextDim, heads, false), layer(layers, p, "attn2"),
                LayerNorm.of(p.at("norm3"), dim, LAYER_NORM_EPS), FeedForward.of(p.at("ff"), dim));
    }

    private static LayerInfo layer(Function<String, LayerInfo> layers, Params p, String attn) {
        LayerInfo info = layers.apply(p.name(attn));
        if (info == null) throw new IllegalStateException("no LayerInfo for attention layer " + p.name(attn));
        return info;
    }

    /** @param x [B, N, C] tokens of an h x w grid; returns a new [B, N, C] */
    public Tensor forward(Tensor x, Tensor context, ForwardPass pass, int height, int width) {
        try (Scope s = Scope.open()) {
            Tensor h = residual(x, attn1, attn1Info, norm1, null, pass, height, width);
            h = residual(h, attn2, attn2Info, norm2, context, pass, height, width);
            Tensor n = norm3.forward(h);
            return s.keep(Ops.add(h, ff.forward(n)));
        }
    }

    private static Tensor residual(Tensor x, Attention attn, LayerInfo info, LayerNorm norm, Tensor context,
                                   ForwardPass pass, int height, int width) {
        try (Tensor n = norm.forward(x); Tensor a = pass.attend(attn, info, n, context, height, width)) {
            return Ops.add(x, a);
        }
    }

    public Attention attn1() { return attn1; }

    public Attention attn2() { return attn2; }

    public LayerInfo attn1Info() { return attn1Info; }

    public LayerInfo attn2Info() { return attn2Info; }
}
