package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.LayerInfo;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Layer selectors over {@link LayerInfo}, to install processors with
 * {@code unet.processors().install(Layers.self().and(Layers.block(UP)), p)}.
 */
public final class Layers {
    private Layers() {}

    public static Predicate<LayerInfo> all() { return l -> true; }

    /** Self-attention layers (attn1). */
    public static Predicate<LayerInfo> self() { return LayerInfo::isSelf; }

    /** Cross-attention layers (attn2). */
    public static Predicate<LayerInfo> cross() { return LayerInfo::isCross; }

    public static Predicate<LayerInfo> block(LayerInfo.Block block) { return l -> l.block() == block; }

    /** Decoder (up) blocks only, as InDetail-IP uses. */
    public static Predicate<LayerInfo> decoder() { return block(LayerInfo.Block.UP); }

    /** Layers whose latent grid has this many tokens (e.g. 256 for 16x16) at the model's default sample size (install-time LayerInfo); use {@link #level} for other sizes. */
    public static Predicate<LayerInfo> tokens(int tokens) { return l -> l.height() * l.width() == tokens; }

    /** Layers at a latent resolution level (0 = full latent resolution). */
    public static Predicate<LayerInfo> level(int level) { return l -> l.level() == level; }

    /** Layers by diffusers name ("down_blocks.1.attentions.0.transformer_blocks.0.attn1"); unknown names never match. */
    public static Predicate<LayerInfo> named(String... names) {
        Set<String> set = new HashSet<>(Arrays.asList(names));
        return l -> set.contains(l.name());
    }

    /** Layers by their position among layers of the same kind (e.g. the k-th self-attention layer). */
    public static Predicate<LayerInfo> kindIndices(int... indices) {
        Set<Integer> set = new HashSet<>();
        for (int i : indices) set.add(i);
        return l -> set.contains(l.kindIndex());
    }

    /**
     * The first {@code fraction} of a ranked list of layer names (most important first): the top
     * lambda_S layers of a sensitivity ranking. {@code int(fraction * ranked.size())} layers are taken;
     * a fraction above 1 is an absolute count, as in the Conditional Balance code.
     */
    public static Predicate<LayerInfo> topOfRanking(List<String> ranked, double fraction) {
        int n = fraction > 1 ? (int) fraction : (int) (fraction * ranked.size());
        if (n < 0) throw new IllegalArgumentException("fraction must be >= 0, got " + fraction);
        return named(ranked.subList(0, Math.min(n, ranked.size())).toArray(String[]::new));
    }
}
