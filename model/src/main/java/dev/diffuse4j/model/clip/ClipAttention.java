package dev.diffuse4j.model.clip;

import dev.diffuse4j.model.nn.Linear;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.Ops;

/** CLIP self-attention: q/k/v/out projections with bias, causal mask, scale 1/sqrt(head dim). */
record ClipAttention(Linear q, Linear k, Linear v, Linear out, int heads) {
    static ClipAttention of(Params p, ClipTextConfig c) {
        int d = c.hiddenSize();
        return new ClipAttention(Linear.of(p.at("q_proj"), d, d, true), Linear.of(p.at("k_proj"), d, d, true),
                Linear.of(p.at("v_proj"), d, d, true), Linear.of(p.at("out_proj"), d, d, true), c.numHeads());
    }

    /** x [B, L, D] -> [B, L, D]; each position attends to itself and the positions before it. */
    Tensor forward(Tensor x) {
        Tensor attended = Ops.attention(AttentionCall.plain(q.forward(x), k.forward(x), v.forward(x), heads).withCausal(true)).out();
        return out.forward(attended);
    }
}
