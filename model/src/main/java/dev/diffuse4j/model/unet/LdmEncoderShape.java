package dev.diffuse4j.model.unet;

import dev.diffuse4j.weights.KeyShapes;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * What an original (LDM/SGM) checkpoint's {@code input_blocks} say about a UNet encoder, which the
 * UNet and its ControlNet copy share: input and first-level widths, levels (one downsampler between
 * each), resnets per level, each level's width and whether it attends; plus the transformer facts
 * (conv or linear projections, context width) gathered while probing transformer depths.
 */
public final class LdmEncoderShape {
    public final int inChannels, firstWidth, levels, layers;
    public final List<Integer> channels = new ArrayList<>();
    public final List<String> downTypes = new ArrayList<>();
    private final KeyShapes keys;
    private Boolean linear;
    private int contextDim = -1;

    private LdmEncoderShape(KeyShapes s, String model) {
        this.keys = s;
        int[] convIn = s.need("input_blocks.0.0.weight", 4);
        firstWidth = convIn[0];
        inChannels = convIn[1];
        TreeSet<Integer> inputs = s.indices("input_blocks"), ops = new TreeSet<>();
        for (int i : inputs) if (s.has("input_blocks." + i + ".0.op.weight")) ops.add(i);
        int count = inputs.last() + 1;
        layers = ops.isEmpty() ? count - 1 : ops.first() - 1;
        levels = ops.size() + 1;
        if (layers < 1 || count != 1 + levels * layers + (levels - 1))
            throw new IllegalArgumentException(s.src().describe() + ": " + count + " input_blocks with downsamplers at " + ops
                    + " do not form a " + model + " with equal layers per level");
        for (int b = 0; b < levels; b++) {
            int first = first(b);
            if (b < levels - 1 && !ops.contains(first + layers))
                throw new IllegalArgumentException(s.src().describe() + ": expected a downsampler at input_blocks." + (first + layers));
            channels.add(s.need("input_blocks." + first + ".0.out_layers.3.weight", 4)[0]);
            downTypes.add(s.has("input_blocks." + first + ".1.proj_in.weight") ? UNetConfig.CROSS_DOWN : UNetConfig.DOWN);
        }
        if (firstWidth != channels.get(0))
            throw new IllegalArgumentException(s.src().describe() + ": conv_in has " + firstWidth + " channels but the first level has " + channels.get(0));
    }

    /** Reads the encoder of a {@code model} ("UNet", "ControlNet") under the keys' prefix. */
    public static LdmEncoderShape read(KeyShapes s, String model) { return new LdmEncoderShape(s, model); }

    /** Input-block slots per level: its resnets (with their attentions) and the downsampler. */
    public int slots() { return layers + 1; }

    /** Index of a level's first input block. */
    public int first(int level) { return 1 + level * slots(); }

    /**
     * The transformer depth at {@code place} (e.g. "middle_block.1."), or -1 when it holds no
     * transformer; records its projection kind and context width, which must agree everywhere.
     */
    public int depthAt(String place) {
        if (place == null || !keys.has(place + "proj_in.weight")) return -1;
        boolean lin = keys.need(place + "proj_in.weight", -1).length == 2;
        if (linear != null && linear != lin)
            throw new IllegalArgumentException(keys.src().describe() + ": mixes linear and conv proj_in (at " + keys.prefix() + place + "proj_in.weight)");
        linear = lin;
        contextDim = keys.need(place + "transformer_blocks.0.attn2.to_k.weight", 2)[1];
        return keys.indices(place + "transformer_blocks").size();
    }

    /** Whether the projections are linear (SD2/SDXL) rather than 1x1 convs (SD1.x); needs a probed transformer. */
    public boolean linearProjection() {
        if (linear == null) throw new IllegalArgumentException(keys.src().describe() + ": no transformer found under " + keys.prefix() + "middle_block.1");
        return linear;
    }

    /** The cross-attention context width seen by the probed transformers. */
    public int contextDim() { return contextDim; }
}
