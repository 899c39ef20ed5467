package dev.diffuse4j.runtime.ops;

import dev.diffuse4j.runtime.Tensor;

/** Gradients of a normalisation with respect to its input and its affine parameters (null when that parameter was null). */
public record NormGrads(Tensor dx, Tensor dGamma, Tensor dBeta) {}
