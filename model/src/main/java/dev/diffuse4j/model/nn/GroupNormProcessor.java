package dev.diffuse4j.model.nn;

import dev.diffuse4j.runtime.Tensor;

/**
 * Computes the UNet's GroupNorm layers (resnet norms, transformer input norms, conv_norm_out), like an
 * attention processor does for attention: methods that change how statistics are taken (StyleAligned's
 * shared normalisation) install one on the model. The default is the layer itself.
 */
@FunctionalInterface
public interface GroupNormProcessor {
    /**
     * @param norm the layer: groups, affine parameters, epsilon
     * @param x    activations [B, H, W, C]
     * @param silu whether the call site fuses SiLU after the norm
     * @return [B, H, W, C]
     */
    Tensor apply(GroupNorm norm, Tensor x, boolean silu);

    /** True when every call does the same device work at every step (see AttentionProcessor#stepInvariant). */
    default boolean stepInvariant() { return false; }

    /** The layer's own GroupNorm (statistics per batch item). */
    GroupNormProcessor PLAIN = (norm, x, silu) -> silu ? norm.forwardSilu(x) : norm.forward(x);
}
