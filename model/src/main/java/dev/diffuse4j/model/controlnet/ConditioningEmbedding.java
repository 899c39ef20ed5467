package dev.diffuse4j.model.controlnet;

import dev.diffuse4j.model.nn.Conv2d;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Conv2dParams;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers ControlNetConditioningEmbedding: the control image [B, H, W, 3] in [0, 1] to the UNet's
 * first width at latent size. conv_in then SiLU; per width step a 3x3 conv and a stride-2 3x3 conv
 * to the next width, each followed by SiLU; then conv_out (zero-initialised in training), no activation.
 */
public final class ConditioningEmbedding {
    private final Conv2d convIn;
    private final List<Conv2d> blocks;
    private final Conv2d convOut;
    private final int channels;

    private ConditioningEmbedding(Conv2d convIn, List<Conv2d> blocks, Conv2d convOut, int channels) {
        this.convIn = convIn;
        this.blocks = List.copyOf(blocks);
        this.convOut = convOut;
        this.channels = channels;
    }

    static ConditioningEmbedding of(Params p, int conditioningChannels, List<Integer> widths, int outChannels) {
        Conv2d in = Conv2d.same(p.at("conv_in"), conditioningChannels, widths.get(0), 3);
        List<Conv2d> blocks = new ArrayList<>();
        for (int i = 0; i + 1 < widths.size(); i++) {
            int w = widths.get(i);
            blocks.add(Conv2d.same(p.at("blocks").at(2 * i), w, w, 3));
            blocks.add(Conv2d.of(p.at("blocks").at(2 * i + 1), w, widths.get(i + 1), 3, Conv2dParams.of(2, 1)));
        }
        Conv2d out = Conv2d.same(p.at("conv_out"), widths.getLast(), outChannels, 3);
        return new ConditioningEmbedding(in, blocks, out, conditioningChannels);
    }

    /** @param cond [B, H, W, conditioning_channels]; returns [B, H/f, W/f, out_channels] */
    public Tensor forward(Tensor cond) {
        if (cond.rank() != 4 || cond.dim(3) != channels)
            throw new IllegalArgumentException("ControlNet: control image " + cond.describe() + " is not NHWC [B, H, W, " + channels + "]");
        try (Scope s = Scope.open()) {
            Tensor x = Ops.silu(convIn.forward(cond));
            for (Conv2d b : blocks) x = Ops.silu(b.forward(x));
            return s.keep(convOut.forward(x));
        }
    }

    /** Number of convs between conv_in and conv_out (2 per width step). */
    public int blockCount() { return blocks.size(); }
}
