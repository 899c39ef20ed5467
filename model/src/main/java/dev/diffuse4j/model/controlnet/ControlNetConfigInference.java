package dev.diffuse4j.model.controlnet;

import dev.diffuse4j.model.unet.LdmEncoderShape;
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
        LdmEncoderShape enc = LdmEncoderShape.read(s, "ControlNet");
        int levels = enc.levels;
        List<Integer> channels = enc.channels, depth = new ArrayList<>();
        List<String> up = new ArrayList<>();
        for (int b = 0; b < levels; b++) {
            // the encoder copy has no up blocks: a level's depth shows in its down block or (last level) the mid block
            int d = enc.depthAt("input_blocks." + enc.first(b) + ".1.");
            if (d < 0 && b == levels - 1) d = enc.depthAt("middle_block.1.");
            depth.add(Math.max(d, 0));
        }
        for (int b = levels - 1; b >= 0; b--) up.add(enc.downTypes.get(b).equals(UNetConfig.CROSS_DOWN) ? UNetConfig.CROSS_UP : UNetConfig.UP);
        boolean linear = enc.linearProjection();
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
        int sampleSize = fromBase ? base.sampleSize() : addType != null ? 128 : 64;
        UNetConfig unet = new UNetConfig(sampleSize, enc.inChannels, enc.inChannels, channels, enc.layers, enc.downTypes, UNetConfig.MID, up,
                headList, null, enc.contextDim(), depth, linear, 32, 1e-5f, true, 0f, addType, addTime, addDim, false);

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
