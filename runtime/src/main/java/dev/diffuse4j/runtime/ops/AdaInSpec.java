package dev.diffuse4j.runtime.ops;

/**
 * AdaIN of queries and keys (StyleAligned): {@code x' = (x - mu(x)) / sigma(x) * sigma(ref) + mu(ref)},
 * statistics per (batch item, head, channel) over tokens, variance unbiased (N-1) plus {@code eps}
 * under the square root. Applied to the queries and to the keys (and optionally values) of segment 0
 * (the item's own K/V) before attention; the reference statistics come from the same tensors' row
 * {@code refItem[b]}.
 *
 * @param refItem for each batch item, the item whose statistics it is normalised to, or -1 for none
 */
public record AdaInSpec(int[] refItem, boolean queries, boolean keys, boolean values, float eps) {
    public static final float DEFAULT_EPS = 1e-5f;

    public AdaInSpec {
        refItem = refItem.clone();
    }

    public static AdaInSpec queriesAndKeys(int[] refItem) { return new AdaInSpec(refItem, true, true, false, DEFAULT_EPS); }
}
