package dev.diffuse4j.runtime.ops;

import dev.diffuse4j.runtime.Tensor;

/** Output [B, Nq, H*D] and, when asked for, the captured head-averaged probabilities [B, Nq, Nk]. */
public record AttentionResult(Tensor out, Tensor maps) {}
