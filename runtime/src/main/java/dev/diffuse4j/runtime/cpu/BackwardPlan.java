package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.ops.AttentionMode;

/**
 * A validated attention call ready for the backward workers: the forward's parameters (as in
 * {@link AttentionPlan}), the packed keys/values, keys re-laid with the values' padded row stride
 * so every product runs over {@code valueStride} channels, and the incoming gradients.
 *
 * @param paddedKeys  per (panel * heads + head), keys [rows4, valueStride] (zero padding)
 * @param dOut        dL/dout [B, Nq, H*D], or null
 * @param dMaps       dL/dmaps [B, Nq, N_capture], or null
 * @param chunks      query chunks per (item, head) task; a chunk is a whole number of query blocks
 */
record BackwardPlan(int items, int queries, int heads, int headDim, AttentionMode mode, boolean causal,
                    float[] logitScale, float[] logitBias, float[] weight,
                    TokenRows q, AdaIn.ChannelAffine[] queryAffine, KvPanels panels, float[][] paddedKeys,
                    int capture, TokenRows dOut, TokenRows dMaps, int chunks, int chunkQueries) {

    int dim() { return heads * headDim; }

    int segments() { return logitScale.length; }

    int valueStride() { return panels.valueStride; }

    int tasks() { return items * heads * chunks; }

    int taskItem(int t) { return t / (heads * chunks); }

    int taskHead(int t) { return t / chunks % heads; }

    int taskChunk(int t) { return t % chunks; }

    int task(int item, int head, int chunk) { return (item * heads + head) * chunks + chunk; }

    float presentWeight(int item) {
        float w = 0;
        for (int j = 0; j < segments(); j++) if (panels.panel(j, item) >= 0) w += weight[j];
        return w;
    }
}
