package dev.diffuse4j.model.unet;

import dev.diffuse4j.weights.KeyShapes;
import dev.diffuse4j.weights.TensorSource;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
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
        int[] convIn = s.need("input_blocks.0.0.weight", 4);
        int ch0 = convIn[0], inChannels = convIn[1];
        int outChannels = s.need("out.2.weight", 4)[0];

        TreeSet<Integer> inputs = s.indices("input_blocks"), ops = new TreeSet<>();
        for (int i : inputs) if (s.has("input_blocks." + i + ".0.op.weight")) ops.add(i);
        int count = inputs.last() + 1;
        int layers = ops.isEmpty() ? count - 1 : ops.first() - 1;
        int levels = ops.size() + 1;
        if (layers < 1 || count != 1 + levels * layers + (levels - 1))
            throw new IllegalArgumentException(src.describe() + ": " + count + " input_blocks with downsamplers at " + ops + " do not form a UNet with equal layers per level");
        int slots = layers + 1;

        List<Integer> channels = new ArrayList<>(), depth = new ArrayList<>();
        List<String> down = new ArrayList<>(), up = new ArrayList<>();
        Boolean linear = null;
        int contextDim = -1;
        for (int b = 0; b < levels; b++) {
            int first = 1 + b * slots;
            if (b < levels - 1 && ops.stream().noneMatch(o -> o == first + layers))
                throw new IllegalArgumentException(src.describe() + ": expected a downsampler at input_blocks." + (first + layers));
            channels.add(s.need("input_blocks." + first + ".0.out_layers.3.weight", 4)[0]);
            down.add(s.has("input_blocks." + first + ".1.proj_in.weight") ? UNetConfig.CROSS_DOWN : UNetConfig.DOWN);
            up.add(s.has("output_blocks." + (b * slots) + ".1.proj_in.weight") ? UNetConfig.CROSS_UP : UNetConfig.UP);
        }
        for (int level = 0; level < levels; level++) {
            // a level's depth shows in its down block, its up block, or (last level) the mid block
            String[] places = {"input_blocks." + (1 + level * slots) + ".1.", "output_blocks." + ((levels - 1 - level) * slots) + ".1.",
                    level == levels - 1 ? "middle_block.1." : null};
            int d = 0;
            for (String place : places) {
                if (place == null || !s.has(place + "proj_in.weight")) continue;
                d = s.indices(place + "transformer_blocks").size();
                int[] projIn = s.need(place + "proj_in.weight", -1);
                boolean lin = projIn.length == 2;
                if (linear != null && linear != lin)
                    throw new IllegalArgumentException(src.describe() + ": mixes linear and conv proj_in (at " + prefix + place + "proj_in.weight)");
                linear = lin;
                contextDim = s.need(place + "transformer_blocks.0.attn2.to_k.weight", 2)[1];
                break;
            }
            depth.add(d);
        }
        if (linear == null) throw new IllegalArgumentException(src.describe() + ": no transformer found under " + prefix + "middle_block.1");
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
        if (ch0 != channels.get(0))
            throw new IllegalArgumentException(src.describe() + ": conv_in has " + ch0 + " channels but the first level has " + channels.get(0));
        return new UNetConfig(addType != null ? 128 : 64, inChannels, outChannels, channels, layers, down, UNetConfig.MID, up,
                headList, null, contextDim, depth, linear, 32, 1e-5f, true, 0f, addType, addTime, addDim, false);
    }
}
