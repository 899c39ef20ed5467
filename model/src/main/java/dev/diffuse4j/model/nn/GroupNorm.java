package dev.diffuse4j.model.nn;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/** Affine GroupNorm over channels-last activations. */
public record GroupNorm(Tensor gamma, Tensor beta, int groups, float eps) {
    public static GroupNorm of(Params p, int groups, int channels, float eps) {
        if (channels % groups != 0)
            throw new IllegalArgumentException(p.name("weight") + ": " + channels + " channels do not split into " + groups + " groups");
        return new GroupNorm(p.get("weight", channels), p.get("bias", channels), groups, eps);
    }

    public Tensor forward(Tensor x) { return Ops.groupNorm(x, groups, gamma, beta, eps); }

    /** GroupNorm followed by SiLU, fused. */
    public Tensor forwardSilu(Tensor x) { return Ops.groupNormSilu(x, groups, gamma, beta, eps); }
}
