package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.Attention;
import dev.diffuse4j.model.attention.AttentionProcessor;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.Tensor;

import java.util.HashMap;
import java.util.Map;

/**
 * Conditional Balance style injection (Cohen, Nir, Shamir, CVPR 2025): StyleAligned restricted, at
 * each timestep, to the most style-sensitive self-attention layers of a {@link LayerRanking}. At the
 * ranking's timestep nearest the current one, AdaIN of queries is applied in the {@code lambdaS}
 * lowest q-score layers, AdaIN of keys in the lowest k-score layers (chosen independently), values
 * only with a ranking that scores them, and the reference's keys/values are shared in every layer
 * chosen for q or k; all other layers, and layers the ranking does not name, stay plain.
 */
public final class ConditionalBalance implements AttentionProcessor {
    /** Per layer name: AdaIN of q, k, v (shared attention iff q or k). */
    record Choice(boolean q, boolean k, boolean v) {}

    private final LayerRanking ranking;
    private final double lambdaS;
    private final BatchLayout layout;
    private final Map<LayerRanking.Scores, Map<String, Choice>> cache = new HashMap<>();

    public ConditionalBalance(LayerRanking ranking, double lambdaS, BatchLayout layout) {
        if (!(lambdaS > 0)) throw new IllegalArgumentException("lambda_S must be > 0 (a fraction of the layers, or a count above 1), got " + lambdaS);
        this.ranking = ranking;
        this.lambdaS = lambdaS;
        this.layout = layout;
    }

    /** Which layers inject style at timestep t, and how. */
    synchronized Map<String, Choice> choices(double t) {
        return cache.computeIfAbsent(ranking.nearest(t), s -> {
            boolean[] q = LayerRanking.lowest(s.q(), lambdaS), k = LayerRanking.lowest(s.k(), lambdaS);
            boolean[] v = s.v() != null ? LayerRanking.lowest(s.v(), lambdaS) : new boolean[q.length];
            Map<String, Choice> m = new HashMap<>();
            for (int i = 0; i < q.length; i++)
                if (q[i] || k[i]) m.put(ranking.layerNames().get(i), new Choice(q[i], k[i], v[i]));
            return m;
        });
    }

    @Override
    public Tensor process(Attention attn, Tensor hidden, Tensor context, LayerInfo layer, StepContext step) {
        if (context != null || Double.isNaN(step.timestep())) return attn.plain(hidden, context);
        Choice c = choices(step.timestep()).get(layer.name());
        if (c == null) return attn.plain(hidden, context);
        var config = ReferenceAttentionConfig.styleAligned().withAdaIn(c.q(), c.k(), c.v());
        return new ReferenceAttention(config, layout).process(attn, hidden, null, layer, step);
    }
}
