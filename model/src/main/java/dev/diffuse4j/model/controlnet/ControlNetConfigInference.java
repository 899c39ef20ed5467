package dev.diffuse4j.model.controlnet;

import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.unet.UNetConfigInference;
import dev.diffuse4j.weights.KeyShapes;
import dev.diffuse4j.weights.TensorSource;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.IntBinaryOperator;

/**
 * Reads a ControlNet config off an original checkpoint's keys and shapes: the encoder as
 * {@link UNetConfigInference} reads a UNet's (levels, widths, layers, attention, depths, projections,
 * context width, SDXL label_emb) and the hint stack's widths. Heads follow the standard rule
 * (SD1.x 8 heads, SDXL 64-channel heads); SDXL's time-id embedding is 256 wide.
 */
public final class ControlNetConfigInference {
    private ControlNetConfigInference() {}

    /** The key prefix of a checkpoint's ControlNet: {@code control_model.} or none; null if it holds no ControlNet. */
    public static String prefix(TensorSource src) {
        if (src.contains(LdmControlNetMapping.PREFIX + "input_hint_block.0.weight")) return LdmControlNetMapping.PREFIX;
        if (src.contains("input_hint_block.0.weight")) return "";
        return null;
    }

    public static ControlNetConfig infer(TensorSource src, String prefix) { return infer(src, prefix, null); }

    /**
     * @param base the UNet the ControlNet was copied from, or null: what the weights cannot tell (heads,
     *             SDXL time-id width, sample size) is taken from it when its level count matches
     */
    public static ControlNetConfig infer(TensorSource src, String prefix, UNetConfig base) {
        KeyShapes s = new KeyShapes(src, prefix, "ControlNet");
        int[] convIn = s.need("input_blocks.0.0.weight", 4);
        int ch0 = convIn[0], inChannels = convIn[1];
        TreeSet<Integer> inputs = s.indices("input_blocks"), ops = new TreeSet<>();
        for (int i : inputs) if (s.has("input_blocks." + i + ".0.op.weight")) ops.add(i);
        int count = inputs.last() + 1;
        int layers = ops.isEmpty() ? count - 1 : ops.first() - 1, levels = ops.size() + 1;
        if (layers < 1 || count != 1 + levels * layers + (levels - 1))
            throw new IllegalArgumentException(src.describe() + ": " + count + " input_blocks with downsamplers at " + ops + " do not form a ControlNet encoder");
        int slots = layers + 1;
        List<Integer> channels = new ArrayList<>(), depth = new ArrayList<>();
        List<String> down = new ArrayList<>(), up = new ArrayList<>();
        Boolean linear = null;
        int contextDim = -1;
        for (int b = 0; b < levels; b++) {
            int first = 1 + b * slots;
            channels.add(s.need("input_blocks." + first + ".0.out_layers.3.weight", 4)[0]);
            String place = s.has("input_blocks." + first + ".1.proj_in.weight") ? "input_blocks." + first + ".1."
                    : b == levels - 1 ? "middle_block.1." : null;
            down.add(place != null && place.startsWith("input") ? UNetConfig.CROSS_DOWN : UNetConfig.DOWN);
            int d = 0;
            if (place != null) {
                s.need(place + "proj_in.weight", -1);
                d = s.indices(place + "transformer_blocks").size();
                boolean lin = s.need(place + "proj_in.weight", -1).length == 2;
                if (linear != null && linear != lin)
                    throw new IllegalArgumentException(src.describe() + ": mixes linear and conv proj_in (at " + prefix + place + "proj_in.weight)");
                linear = lin;
                contextDim = s.need(place + "transformer_blocks.0.attn2.to_k.weight", 2)[1];
            }
            depth.add(d);
        }
        for (int b = levels - 1; b >= 0; b--) up.add(down.get(b).equals(UNetConfig.CROSS_DOWN) ? UNetConfig.CROSS_UP : UNetConfig.UP);
        if (linear == null) throw new IllegalArgumentException(src.describe() + ": no transformer found under " + prefix + "middle_block.1");
        boolean fromBase = base != null && base.levels() == levels;
        IntBinaryOperator heads = fromBase ? (level, ch) -> base.heads(level) : UNetConfigInference.standardHeads(linear);
        List<Integer> headList = new ArrayList<>();
        for (int level = 0; level < levels; level++) headList.add(Math.max(1, heads.applyAsInt(level, channels.get(level))));
        String addType = null;
        int addDim = 0, addTime = 0;
        if (s.has("label_emb.0.0.weight")) {
            addType = UNetConfig.TEXT_TIME;
            addDim = s.need("label_emb.0.0.weight", 2)[1];
            addTime = fromBase && base.hasTextTime() ? base.additionTimeEmbedDim() : 256;
        }
        if (ch0 != channels.get(0))
            throw new IllegalArgumentException(src.describe() + ": conv_in has " + ch0 + " channels but the first level has " + channels.get(0));
        int sampleSize = fromBase ? base.sampleSize() : addType != null ? 128 : 64;
        UNetConfig unet = new UNetConfig(sampleSize, inChannels, inChannels, channels, layers, down, UNetConfig.MID, up,
                headList, null, contextDim, depth, linear, 32, 1e-5f, true, 0f, addType, addTime, addDim, false);

        // hint stack: conv_in at 0, convs at 2, 4, ..., conv_out last; the stride-2 convs (4, 8, ...) set the widths
        TreeSet<Integer> hint = s.indices("input_hint_block");
        int last = hint.last(), blocks = (last - 2) / 2;
        if (last < 2 || last % 2 != 0 || blocks % 2 != 0 || hint.size() != blocks + 2)
            throw new IllegalArgumentException(src.describe() + ": input_hint_block convs at " + hint + " are not conv_in, pairs of convs and conv_out");
        int[] hintIn = s.need("input_hint_block.0.weight", 4);
        List<Integer> widths = new ArrayList<>();
        widths.add(hintIn[0]);
        for (int j = 1; j < blocks; j += 2) widths.add(s.need("input_hint_block." + (2 + 2 * j) + ".weight", 4)[0]);
        return new ControlNetConfig(unet, hintIn[1], widths);
    }
}
