package dev.diffuse4j.pipelines;

import dev.diffuse4j.schedulers.noise.NoiseSource;
import dev.diffuse4j.schedulers.noise.PhiloxGaussian;
import dev.diffuse4j.schedulers.noise.TorchCpuRandn;

/**
 * Where initial noise comes from. Both fill latents in NCHW element order, as diffusers' {@code randn(B, 4, h, w)}
 * does, and are then laid out NHWC; so a seed means the same image on every backend and thread count.
 */
public enum NoiseMode {
    /** Counter-based Philox4x32-10 + Box-Muller: element i depends only on (seed, i). The default. */
    PHILOX,
    /** PyTorch's CPU generator (mt19937 and torch's normal_), matching diffusers run with a CPU generator. */
    TORCH;

    public NoiseSource source(long seed) {
        return this == PHILOX ? PhiloxGaussian.seeded(seed) : TorchCpuRandn.seeded(seed);
    }
}
