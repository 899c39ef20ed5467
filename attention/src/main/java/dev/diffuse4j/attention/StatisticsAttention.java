package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.Attention;
import dev.diffuse4j.model.attention.AttentionProcessor;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/**
 * Full StyleAligned attention (shared reference keys/values, AdaIN of queries, keys <em>and</em>
 * values) that also reports, at every sampling step, the per-channel moments of the layer's queries,
 * keys and values before AdaIN — the features Conditional Balance's layer analysis compares
 * ({@code sa_handler_statistics.save_mean_std}). Reference rows are dropped; the other rows are
 * flattened in batch order, i.e. {@code [uncond targets, cond targets] x heads x d_head}.
 */
public final class StatisticsAttention implements AttentionProcessor {
    /** Receives one layer's moments at one step. */
    @FunctionalInterface
    public interface Sink {
        void accept(LayerInfo layer, StepContext step, ChannelMoments q, ChannelMoments k, ChannelMoments v);
    }

    private final ReferenceAttention attention;
    private final BatchLayout layout;
    private final Sink sink;

    public StatisticsAttention(BatchLayout layout, Sink sink) {
        this.attention = new ReferenceAttention(ReferenceAttentionConfig.styleAligned().withAdaIn(true, true, true), layout);
        this.layout = layout;
        this.sink = sink;
    }

    @Override
    public Tensor process(Attention attn, Tensor hidden, Tensor context, LayerInfo layer, StepContext step) {
        if (context != null) throw new IllegalStateException("StatisticsAttention is for self-attention layers; it was installed on " + layer.name());
        try (Scope s = Scope.open()) {
            Tensor q = attn.query(hidden), k = attn.key(hidden), v = attn.value(hidden);
            if (step.inLoop()) {
                int[] rows = targetRows(q.dim(0));
                sink.accept(layer, step, ChannelMoments.of(q, rows), ChannelMoments.of(k, rows), ChannelMoments.of(v, rows));
            }
            Tensor merged = Ops.attention(attention.call(q, k, v, attn.heads())).out();
            return s.keep(attn.out(merged));
        }
    }

    private int[] targetRows(int batch) {
        int[] rows = new int[batch];
        int n = 0;
        for (int b = 0; b < batch; b++) if (!layout.isReference(b, batch)) rows[n++] = b;
        return java.util.Arrays.copyOf(rows, n);
    }
}
