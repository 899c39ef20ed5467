package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.nn.Linear;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/**
 * diffusers FeedForward with GEGLU: {@code net.0.proj} (dim -> 2*4*dim), value * gelu_erf(gate)
 * over the two halves, {@code net.2} (4*dim -> dim). net.1 is dropout.
 */
public record FeedForward(Linear proj, Linear out) {
    public static FeedForward of(Params p, int dim) {
        int inner = 4 * dim;
        return new FeedForward(Linear.of(p.at("net").at(0).at("proj"), dim, 2 * inner, true),
                Linear.of(p.at("net").at(2), inner, dim, true));
    }

    public Tensor forward(Tensor x) {
        try (Tensor g = Ops.linearGeglu(x, proj.weight(), proj.bias())) {  // fused on CUDA
            return out.forward(g);
        }
    }
}
