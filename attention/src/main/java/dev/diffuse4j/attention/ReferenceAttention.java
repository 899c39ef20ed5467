package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.Attention;
import dev.diffuse4j.model.attention.AttentionProcessor;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AdaInSpec;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionMode;
import dev.diffuse4j.runtime.ops.KvSegment;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.List;

/**
 * Self-attention that lets target rows attend to a reference row of the same batch — StyleAligned's
 * shared attention, KV concatenation/replacement and InDetail-IP's Stratified Attention are all this
 * processor with different {@link ReferenceAttentionConfig}s. It is one call of the runtime's
 * attention op: segment 0 is each row's own K/V, segment 1 the reference row's K/V reached through an
 * item map ({@code -1} for rows that do not receive it), with the config's logit scale/shift or
 * stratified weights, and AdaIN of the receiving rows' Q/K to the reference's statistics.
 * Non-receiving rows (the references, and the uncond half under conflict-free guidance) get plain
 * attention, bit for bit.
 */
public final class ReferenceAttention implements AttentionProcessor {
    private final ReferenceAttentionConfig config;
    private final BatchLayout layout;

    public ReferenceAttention(ReferenceAttentionConfig config, BatchLayout layout) {
        if (config.mode() == ReferenceMode.REPLACE && (config.adainKeys() || config.adainValues()))
            throw new IllegalArgumentException("KV replacement drops the row's own keys/values: AdaIN of keys or values has nothing to act on");
        this.config = config;
        this.layout = layout;
    }

    public ReferenceAttentionConfig config() { return config; }

    /** The same attention-op call at every step: captured once and replayed under CUDA graphs. */
    @Override public boolean stepInvariant() { return true; }

    @Override
    public Tensor process(Attention attn, Tensor hidden, Tensor context, LayerInfo layer, StepContext step) {
        if (context != null) // a reference only makes sense among the image's own tokens
            throw new IllegalStateException("ReferenceAttention is for self-attention layers; it was installed on " + layer.name());
        try (Scope s = Scope.open()) {
            Tensor q = attn.query(hidden), k = attn.key(hidden), v = attn.value(hidden);
            Tensor merged = Ops.attention(call(q, k, v, attn.heads())).out();
            return s.keep(attn.out(merged));
        }
    }

    /** The attention-op call for projected q/k/v [B, N, C] (exposed for tests and fused backends). */
    public AttentionCall call(Tensor q, Tensor k, Tensor v, int heads) {
        int batch = q.dim(0);
        int[] own = new int[batch], ref = new int[batch], adainRef = new int[batch];
        for (int b = 0; b < batch; b++) {
            boolean receives = config.recipients().receives(layout, b, batch);
            int r = layout.referenceOf(b, batch);
            ref[b] = receives ? r : -1;
            own[b] = receives && config.mode() == ReferenceMode.REPLACE ? -1 : b;
            adainRef[b] = receives ? r : -1;
        }
        KvSegment ownSeg = new KvSegment(k, v, own, 1f, 0f, config.lambdaOwn());
        KvSegment refSeg = new KvSegment(k, v, ref, config.scoreScale(), config.scoreShift(), config.lambdaRef());
        AttentionMode mode = config.mode() == ReferenceMode.STRATIFIED ? AttentionMode.STRATIFIED : AttentionMode.JOINT;
        AdaInSpec adain = config.anyAdaIn()
                ? new AdaInSpec(adainRef, config.adainQueries(), config.adainKeys(), config.adainValues(), AdaInSpec.DEFAULT_EPS) : null;
        return new AttentionCall(q, heads, List.of(ownSeg, refSeg), mode, Float.NaN, false, adain, -1);
    }
}
