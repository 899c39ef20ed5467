package dev.diffuse4j.model.nn;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/** y = x W^T + b, W [out, in]. */
public record Linear(Tensor weight, Tensor bias, int in, int out) {
    public static Linear of(Params p, int in, int out, boolean bias) {
        return new Linear(p.get("weight", out, in), bias ? p.get("bias", out) : null, in, out);
    }

    public Tensor forward(Tensor x) { return Ops.linear(x, weight, bias); }
}
