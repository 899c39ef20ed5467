package dev.diffuse4j.runtime.ops;

import dev.diffuse4j.runtime.Tensor;

/**
 * One set of keys and values for the attention op.
 *
 * @param k          keys [Bk, Nk, H*D]
 * @param v          values [Bk, Nk, H*D]
 * @param itemMap    for each query batch item b, which row of k/v it uses, or -1 when this segment is
 *                   absent for b. Null means identity when Bk == B and broadcast of row 0 when Bk == 1.
 * @param logitScale c_j: multiplies this segment's logits (joint mode), 1 for none
 * @param logitBias  b_j: added to this segment's logits after scaling (joint mode), 0 for none
 * @param weight     lambda_j: this segment's weight in stratified mode; weights are normalised over the
 *                   segments present for each item, so an item that lacks a segment gets plain attention
 *                   over the rest
 */
public record KvSegment(Tensor k, Tensor v, int[] itemMap, float logitScale, float logitBias, float weight) {
    public KvSegment {
        if (k == null || v == null) throw new IllegalArgumentException("KvSegment needs keys and values");
        itemMap = itemMap == null ? null : itemMap.clone();
    }

    /** Keys/values used as they are: per item (Bk == B) or broadcast (Bk == 1). */
    public static KvSegment of(Tensor k, Tensor v) { return new KvSegment(k, v, null, 1f, 0f, 1f); }

    public KvSegment withItemMap(int[] map) { return new KvSegment(k, v, map, logitScale, logitBias, weight); }

    public KvSegment withLogitScale(float c) { return new KvSegment(k, v, itemMap, c, logitBias, weight); }

    public KvSegment withLogitBias(float b) { return new KvSegment(k, v, itemMap, logitScale, b, weight); }

    public KvSegment withWeight(float w) { return new KvSegment(k, v, itemMap, logitScale, logitBias, w); }

    /** Row of k/v used by query item {@code b} of a batch of {@code batch}, or -1 when absent. */
    public int rowFor(int b, int batch) {
        if (itemMap != null) return itemMap[b];
        return k.dim(0) == 1 ? 0 : b;
    }
}
