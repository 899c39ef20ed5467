package dev.diffuse4j.model.unet;

import dev.diffuse4j.weights.KeyShapes;
import dev.diffuse4j.weights.TensorSource;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntBinaryOperator;

/**
 * Reads a UNet config off a single-file (LDM/SGM) checkpoint's keys and shapes: levels, widths,
 * layers per block, which levels attend, transformer depths, conv or linear projections, context
 * width and SDXL's added conditioning. Two things are not in the weights: the head count (by
 * default SD1.x's 8 heads with conv projections, else SD2/SDXL's 64-channel heads) and the time-id
 * embedding width (SDXL's 256).
 */
public final class UNetConfigInference {
    private UNetConfigInference() {}

    /** Heads per level as SD1.x (8 heads, conv projections) and SD2.x/SDXL (head dim 64, linear ones) use. */
    public static IntBinaryOperator standardHeads(boolean linearProjection) {
        return linearProjection ? (level, channels) -> channels / 64 : (level, channels) -> 8;
    }

    public static UNetConfig infer(TensorSource src, String prefix) { return infer(src, prefix, null, 256); }

    /**
     * @param heads                (level, channels) -> head count; null for {@link #standardHeads}
     * @param additionTimeEmbedDim width of each SDXL time-id embedding when the checkpoint has label_emb
     */
    public static UNetConfig infer(TensorSource src, String prefix, IntBinaryOperator heads, int additionTimeEmbedDim) {
        KeyShapes s = new KeyShapes(src, prefix, "UNet");
        LdmEncoderShape enc = LdmEncoderShape.read(s, "UNet");
        int outChannels = s.need("out.2.weight", 4)[0];
        int levels = enc.levels, slots = enc.slots();
        List<Integer> channels = enc.channels, depth = new ArrayList<>();
        List<String> up = new ArrayList<>();
        for (int b = 0; b < levels; b++)
            up.add(s.has("output_blocks." + (b * slots) + ".1.proj_in.weight") ? UNetConfig.CROSS_UP : UNetConfig.UP);
        for (int level = 0; level < levels; level++) {
            // a level's depth shows in its down block, its up block, or (last level) the mid block
            String[] places = {"input_blocks." + enc.first(level) + ".1.", "output_blocks." + ((levels - 1 - level) * slots) + ".1.",
                    level == levels - 1 ? "middle_block.1." : null};
            int d = 0;
            for (String place : places) {
                int found = enc.depthAt(place);
                if (found >= 0) {
                    d = found;
                    break;
                }
            }
            depth.add(d);
        }
        boolean linear = enc.linearProjection();
        IntBinaryOperator headRule = heads != null ? heads : standardHeads(linear);
        List<Integer> headList = new ArrayList<>();
        for (int level = 0; level < levels; level++) headList.add(headRule.applyAsInt(level, channels.get(level)));

        String addType = null;
        int addDim = 0, addTime = 0;
        if (s.has("label_emb.0.0.weight")) {
            addType = UNetConfig.TEXT_TIME;
            addDim = s.need("label_emb.0.0.weight", 2)[1];
            addTime = additionTimeEmbedDim;
        }
        return new UNetConfig(addType != null ? 128 : 64, enc.inChannels, outChannels, channels, enc.layers, enc.downTypes, UNetConfig.MID, up,
                headList, null, enc.contextDim(), depth, linear, 32, 1e-5f, true, 0f, addType, addTime, addDim, false);
    }
}
