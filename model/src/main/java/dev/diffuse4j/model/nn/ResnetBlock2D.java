package dev.diffuse4j.model.nn;

import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/**
 * diffusers ResnetBlock2D (pre-norm, time_embedding_norm "default", output scale 1):
 * {@code out = shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x))) + time_emb_proj(silu(temb)))))}.
 * The shortcut is a 1x1 conv when the width changes. The VAE's resnets have no time embedding.
 */
public final class ResnetBlock2D {
    private final GroupNorm norm1, norm2;
    private final Conv2d conv1, conv2, convShortcut;
    private final Linear timeEmbProj;
    private final int in, out;

    private ResnetBlock2D(GroupNorm norm1, Conv2d conv1, Linear timeEmbProj, GroupNorm norm2, Conv2d conv2,
                          Conv2d convShortcut, int in, int out) {
        this.norm1 = norm1;
        this.conv1 = conv1;
        this.timeEmbProj = timeEmbProj;
        this.norm2 = norm2;
        this.conv2 = conv2;
        this.convShortcut = convShortcut;
        this.in = in;
        this.out = out;
    }

    /**
     * @param tembChannels width of the time embedding, or 0 for none (VAE)
     * @param groups       GroupNorm groups
     * @param eps          GroupNorm epsilon (UNet 1e-5, VAE 1e-6)
     */
    public static ResnetBlock2D of(Params p, int in, int out, int tembChannels, int groups, float eps) {
        return new ResnetBlock2D(
                GroupNorm.of(p.at("norm1"), groups, in, eps),
                Conv2d.same(p.at("conv1"), in, out, 3),
                tembChannels > 0 ? Linear.of(p.at("time_emb_proj"), tembChannels, out, true) : null,
                GroupNorm.of(p.at("norm2"), groups, out, eps),
                Conv2d.same(p.at("conv2"), out, out, 3),
                in != out ? Conv2d.same(p.at("conv_shortcut"), in, out, 1) : null,
                in, out);
    }

    /**
     * @param x        [B, H, W, in]
     * @param tembSilu SiLU(time embedding) [B, tembChannels] (every resnet applies the SiLU to the
     *                 same embedding, so the caller computes it once), or null without one
     * @return [B, H, W, out]
     */
    public Tensor forward(Tensor x, Tensor tembSilu) { return forward(x, tembSilu, GroupNormProcessor.PLAIN); }

    /** As {@link #forward(Tensor, Tensor)} with both norms computed by {@code norms}. */
    public Tensor forward(Tensor x, Tensor tembSilu, GroupNormProcessor norms) {
        if (x.dim(-1) != in)
            throw new IllegalArgumentException("ResnetBlock2D(" + in + "->" + out + "): input " + x.describe() + " has " + x.dim(-1) + " channels");
        // Each activation is closed as soon as the next exists: at VAE resolutions one is 134 MB (512px).
        try (Scope s = Scope.open()) {
            Tensor h = replace(norms.apply(norm1, x, true), conv1);
            if (timeEmbProj != null) {
                if (tembSilu == null) throw new IllegalArgumentException("ResnetBlock2D: this block needs a time embedding");
                Tensor t = timeEmbProj.forward(tembSilu);
                Tensor withTime = Ops.add(h, t.reshape(t.dim(0), 1, 1, out));
                h.close();
                h = withTime;
            }
            Tensor n2 = norms.apply(norm2, h, true);
            h.close();
            Tensor shortcut = convShortcut == null ? x : convShortcut.forward(x);
            return s.keep(conv2.forward(n2, shortcut));
        }
    }

    private static Tensor replace(Tensor input, Conv2d conv) {
        Tensor out = conv.forward(input);
        input.close();
        return out;
    }

    public int in() { return in; }

    public int out() { return out; }
}
