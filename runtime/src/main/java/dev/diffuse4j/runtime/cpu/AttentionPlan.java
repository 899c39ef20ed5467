package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.ops.AttentionMode;

import java.lang.foreign.MemorySegment;

/**
 * A validated attention call, ready for the workers: sizes, per-segment parameters, the query
 * reader with its AdaIN maps, the packed keys/values, and where results go.
 *
 * @param logitScale   per segment, c_j times the softmax scale
 * @param logitBias    per segment, b_j
 * @param weight       per segment, lambda_j (stratified mode)
 * @param queryAffine  per item, AdaIN map of its queries or null
 * @param capture      segment whose probabilities are captured, or -1
 * @param out          contiguous F32 [B, Nq, H*D]
 * @param maps         contiguous F32 [B, Nq, N_capture], or null
 */
record AttentionPlan(int items, int queries, int heads, int headDim, AttentionMode mode, boolean causal,
                     float[] logitScale, float[] logitBias, float[] weight,
                     TokenRows q, AdaIn.ChannelAffine[] queryAffine, KvPanels panels,
                     int capture, MemorySegment out, MemorySegment maps) {

    int dim() { return heads * headDim; }

    int segments() { return logitScale.length; }

    /** Sum of the weights of the segments present for item b (stratified mode normalises by it). */
    float presentWeight(int item) {
        float w = 0;
        for (int j = 0; j < segments(); j++) if (panels.panel(j, item) >= 0) w += weight[j];
        return w;
    }
}
