package dev.diffuse4j.model.nn;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/** Affine LayerNorm over the last dimension. */
public record LayerNorm(Tensor gamma, Tensor beta, float eps) {
    public static LayerNorm of(Params p, int dim, float eps) {
        return new LayerNorm(p.get("weight", dim), p.get("bias", dim), eps);
    }

    public Tensor forward(Tensor x) { return Ops.layerNorm(x, gamma, beta, eps); }
}
