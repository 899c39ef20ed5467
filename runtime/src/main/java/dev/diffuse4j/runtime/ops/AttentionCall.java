package dev.diffuse4j.runtime.ops;

import dev.diffuse4j.runtime.Tensor;

import java.util.List;

/**
 * Everything the attention op takes (DESIGN §3). Per head h with D = dim/heads and scale s:
 * joint mode {@code P = softmax(s*[c_1 Q K_1^T + b_1; ...])}, {@code out = P [V_1; ...]};
 * stratified mode {@code out = sum_j w_j softmax(s Q K_j^T) V_j} with weights normalised over the
 * segments present for the item.
 *
 * @param q              queries [B, Nq, H*D]
 * @param heads          number of heads H
 * @param segments       at least one; every item must have at least one present segment
 * @param mode           joint or stratified
 * @param scale          softmax scale; NaN means 1/sqrt(D)
 * @param causal         mask keys after the query position (single segment, Nq == Nk; CLIP text)
 * @param adain          AdaIN of Q/K to a reference item's statistics, or null
 * @param captureSegment index of the segment whose probabilities to return averaged over heads
 *                       ([B, Nq, Nk_j]; zeros for items that lack it), or -1
 */
public record AttentionCall(Tensor q, int heads, List<KvSegment> segments, AttentionMode mode, float scale,
                            boolean causal, AdaInSpec adain, int captureSegment) {
    public AttentionCall {
        segments = List.copyOf(segments);
    }

    /** Plain multi-head attention over one K/V. */
    public static AttentionCall plain(Tensor q, Tensor k, Tensor v, int heads) {
        return new AttentionCall(q, heads, List.of(KvSegment.of(k, v)), AttentionMode.JOINT, Float.NaN, false, null, -1);
    }

    public AttentionCall withCausal(boolean c) { return new AttentionCall(q, heads, segments, mode, scale, c, adain, captureSegment); }

    public AttentionCall withAdaIn(AdaInSpec a) { return new AttentionCall(q, heads, segments, mode, scale, causal, a, captureSegment); }

    public AttentionCall withCapture(int segment) { return new AttentionCall(q, heads, segments, mode, scale, causal, adain, segment); }

    public AttentionCall withMode(AttentionMode m) { return new AttentionCall(q, heads, segments, m, scale, causal, adain, captureSegment); }

    public AttentionCall withScale(float s) { return new AttentionCall(q, heads, segments, mode, s, causal, adain, captureSegment); }

    public int headDim() { return q.dim(-1) / heads; }

    public float effectiveScale() { return Float.isNaN(scale) ? (float) (1.0 / Math.sqrt(headDim())) : scale; }
}
