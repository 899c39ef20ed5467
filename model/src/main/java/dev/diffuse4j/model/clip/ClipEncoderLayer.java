package dev.diffuse4j.model.clip;

import dev.diffuse4j.model.nn.LayerNorm;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/** Pre-LN transformer layer: h = x + attn(ln1(x)); out = h + mlp(ln2(h)). */
record ClipEncoderLayer(LayerNorm layerNorm1, ClipAttention selfAttn, LayerNorm layerNorm2, ClipMlp mlp) {
    static ClipEncoderLayer of(Params p, ClipTextConfig c) {
        return new ClipEncoderLayer(LayerNorm.of(p.at("layer_norm1"), c.hiddenSize(), c.layerNormEps()),
                ClipAttention.of(p.at("self_attn"), c),
                LayerNorm.of(p.at("layer_norm2"), c.hiddenSize(), c.layerNormEps()),
                ClipMlp.of(p.at("mlp"), c));
    }

    /** x [B, L, D] -> new [B, L, D]; intermediates are freed on return. */
    Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor h = Ops.add(x, selfAttn.forward(layerNorm1.forward(x)));
            return s.keep(Ops.add(h, mlp.forward(layerNorm2.forward(h))));
        }
    }
}
