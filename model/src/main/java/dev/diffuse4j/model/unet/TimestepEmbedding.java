package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.nn.Linear;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/** diffusers TimestepEmbedding: {@code linear_2(silu(linear_1(x)))}, no activation after it. */
public record TimestepEmbedding(Linear linear1, Linear linear2) {
    public static TimestepEmbedding of(Params p, int in, int dim) {
        return new TimestepEmbedding(Linear.of(p.at("linear_1"), in, dim, true), Linear.of(p.at("linear_2"), dim, dim, true));
    }

    public Tensor forward(Tensor x) {
        try (Tensor h = linear1.forward(x); Tensor a = Ops.silu(h)) {
            return linear2.forward(a);
        }
    }
}
