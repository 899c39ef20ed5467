package dev.diffuse4j.model.attention;

/**
 * Where one attention layer sits in a UNet-like model, with the names and order diffusers uses.
 *
 * @param name        module path as in diffusers' {@code attn_processors} (without ".processor"),
 *                    e.g. "down_blocks.1.attentions.0.transformer_blocks.0.attn1"
 * @param kind        self- or cross-attention
 * @param block       down, mid or up part of the model
 * @param blockIndex  index in down_blocks / up_blocks (0 for the mid block)
 * @param attention   index of the Transformer2DModel in its block ({@code attentions.i})
 * @param transformer index of the BasicTransformerBlock in that model ({@code transformer_blocks.k})
 * @param level       resolution level: 0 at the latent resolution, 1 after one downsample, ...
 * @param height      latent-grid height at this layer (tokens = height * width)
 * @param width       latent-grid width at this layer
 * @param index       position in diffusers' {@code attn_processors} order (down blocks, up blocks, mid)
 * @param kindIndex   position among the layers of the same kind, in that order
 */
public record LayerInfo(String name, Kind kind, Block block, int blockIndex, int attention, int transformer,
                        int level, int height, int width, int index, int kindIndex) {
    public enum Kind { SELF, CROSS }

    public enum Block { DOWN, MID, UP }

    public boolean isSelf() { return kind == Kind.SELF; }

    public boolean isCross() { return kind == Kind.CROSS; }

    /** Number of query tokens: height * width. */
    public int tokens() { return height * width; }

    /** The same layer at another latent-grid size (resolution is a property of the input). */
    public LayerInfo at(int h, int w) {
        if (h == height && w == width) return this;
        return new LayerInfo(name, kind, block, blockIndex, attention, transformer, level, h, w, index, kindIndex);
    }

    @Override
    public String toString() { return name + " [" + kind + ", " + height + "x" + width + ", #" + index + "]"; }
}
