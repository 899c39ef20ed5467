package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AdaInSpec;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.KvSegment;

import java.util.List;

/**
 * What the attention op's forward and backward passes derive from a validated call before any work:
 * the segment-0 row each item reads, the AdaIN affines of Q and of segment 0's K/V (null when not
 * asked for), and per segment the logit scale (times the softmax scale), logit bias and weight.
 */
record AttentionSetup(int[] rows0, AdaIn.ChannelAffine[] queryAffine, AdaIn.ChannelAffine[] keyAffine,
                      AdaIn.ChannelAffine[] valueAffine, float[] logitScale, float[] logitBias, float[] weight) {

    static AttentionSetup of(AttentionCall call) {
        Tensor q = call.q();
        int items = q.dim(0), queries = q.dim(1), dim = q.dim(2);
        List<KvSegment> segments = call.segments();
        KvSegment s0 = segments.get(0);
        int[] self = new int[items], rows0 = new int[items];
        for (int b = 0; b < items; b++) {
            self[b] = b;
            rows0[b] = s0.rowFor(b, items);
        }
        AdaIn.ChannelAffine[] queryAffine = null, keyAffine = null, valueAffine = null;
        AdaInSpec adain = call.adain();
        if (adain != null) {
            int[] ref = adain.refItem();
            if (adain.queries()) queryAffine = AdaIn.affines(new TokenRows(q), queries, dim, self, ref, adain.eps(), "queries");
            if (adain.keys()) keyAffine = AdaIn.affines(new TokenRows(s0.k()), s0.k().dim(1), dim, rows0, ref, adain.eps(), "keys in segment 0");
            if (adain.values()) valueAffine = AdaIn.affines(new TokenRows(s0.v()), s0.v().dim(1), dim, rows0, ref, adain.eps(), "values in segment 0");
        }
        int count = segments.size();
        float s = call.effectiveScale();
        float[] logitScale = new float[count], logitBias = new float[count], weight = new float[count];
        for (int j = 0; j < count; j++) {
            KvSegment seg = segments.get(j);
            logitScale[j] = seg.logitScale() * s;
            logitBias[j] = seg.logitBias();
            weight[j] = seg.weight();
        }
        return new AttentionSetup(rows0, queryAffine, keyAffine, valueAffine, logitScale, logitBias, weight);
    }
}
