package dev.diffuse4j.runtime.ops;

import dev.diffuse4j.runtime.Tensor;

import java.util.List;

/**
 * Gradients of the attention op with respect to its inputs: {@code dq} has the shape of the call's
 * queries; {@code dk.get(j)} and {@code dv.get(j)} have the shapes of segment j's keys and values (a
 * broadcast or index-mapped segment receives the sum over the items that read it).
 */
public record AttentionGrads(Tensor dq, List<Tensor> dk, List<Tensor> dv) {
    public AttentionGrads {
        dk = List.copyOf(dk);
        dv = List.copyOf(dv);
    }
}
