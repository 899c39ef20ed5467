package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.LayerInfo.Block;
import dev.diffuse4j.model.attention.LayerInfo.Kind;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The attention layers of a UNet in diffusers' {@code attn_processors} order: the module tree is
 * walked in registration order, and UNet2DConditionModel registers down_blocks, then up_blocks,
 * then mid_block; inside a block, attentions.i.transformer_blocks.k.attn1 then attn2.
 */
public final class UNetLayers {
    private UNetLayers() {}

    /** Layers with their grid sizes for a latent of {@code height x width}. */
    public static List<LayerInfo> of(UNetConfig c, int height, int width) {
        List<LayerInfo> out = new ArrayList<>();
        int[] counts = new int[2]; // per kind
        for (int b = 0; b < c.levels(); b++)
            if (c.downHasAttention(b)) add(out, counts, c, Block.DOWN, b, b, c.layersPerBlock(), height, width);
        for (int b = 0; b < c.levels(); b++)
            if (c.upHasAttention(b)) add(out, counts, c, Block.UP, b, c.upLevel(b), c.layersPerBlock() + 1, height, width);
        add(out, counts, c, Block.MID, 0, c.levels() - 1, 1, height, width);
        return Collections.unmodifiableList(out);
    }

    /** The encoder's layers only (down blocks, then mid block), as a ControlNet registers them. */
    public static List<LayerInfo> encoder(UNetConfig c, int height, int width) {
        List<LayerInfo> out = new ArrayList<>();
        int[] counts = new int[2];
        for (int b = 0; b < c.levels(); b++)
            if (c.downHasAttention(b)) add(out, counts, c, Block.DOWN, b, b, c.layersPerBlock(), height, width);
        add(out, counts, c, Block.MID, 0, c.levels() - 1, 1, height, width);
        return Collections.unmodifiableList(out);
    }

    private static void add(List<LayerInfo> out, int[] counts, UNetConfig c, Block block, int blockIndex, int level,
                            int attentions, int height, int width) {
        String prefix = block == Block.MID ? "mid_block" : (block == Block.DOWN ? "down_blocks." : "up_blocks.") + blockIndex;
        int h = sizeAt(height, level), w = sizeAt(width, level);
        for (int a = 0; a < attentions; a++) {
            for (int k = 0; k < c.transformerDepth(level); k++) {
                for (Kind kind : Kind.values()) {
                    String name = prefix + ".attentions." + a + ".transformer_blocks." + k + (kind == Kind.SELF ? ".attn1" : ".attn2");
                    out.add(new LayerInfo(name, kind, block, blockIndex, a, k, level, h, w, out.size(), counts[kind.ordinal()]++));
                }
            }
        }
    }

    /** Grid size after {@code level} stride-2 convs with padding 1: ceil halving. */
    static int sizeAt(int size, int level) {
        for (int i = 0; i < level; i++) size = (size + 1) / 2;
        return size;
    }
}
