package dev.diffuse4j.model.vae;

import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.BinaryOp;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.runtime.ops.UnaryOp;

/**
 * diffusers DiagonalGaussianDistribution over latents: the encoder's moments split into mean and
 * log-variance (clamped to [-30, 20]). Owns its tensors.
 */
public final class LatentDistribution implements AutoCloseable {
    static final float LOGVAR_MIN = -30f, LOGVAR_MAX = 20f;

    private final Tensor mean, logvar, std;

    private LatentDistribution(Tensor mean, Tensor logvar, Tensor std) {
        this.mean = mean;
        this.logvar = logvar;
        this.std = std;
    }

    /** From moments [B, h, w, 2L]: mean = the first L channels, logvar = the last L. */
    public static LatentDistribution fromMoments(Tensor moments) {
        int c = moments.dim(-1);
        if (moments.rank() != 4 || c % 2 != 0)
            throw new IllegalArgumentException("LatentDistribution: moments " + moments.describe() + " are not [B, h, w, 2 * latent]");
        try (Scope s = Scope.open()) {
            Tensor mean = moments.slice(3, 0, c / 2).contiguous();
            Tensor logvar = clamp(moments.slice(3, c / 2, c).contiguous());
            Tensor std = Ops.unary(UnaryOp.EXP, Ops.scale(logvar, 0.5f));
            return new LatentDistribution(s.keep(mean), s.keep(logvar), s.keep(std));
        }
    }

    private static Tensor clamp(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor lo = Ops.full(x.device(), x.dtype(), LOGVAR_MIN, 1);
            Tensor hi = Ops.full(x.device(), x.dtype(), LOGVAR_MAX, 1);
            return s.keep(Ops.binary(BinaryOp.MIN, Ops.binary(BinaryOp.MAX, x, lo), hi));
        }
    }

    /** The mean, diffusers' {@code mode()}. */
    public Tensor mean() { return mean; }

    public Tensor logvar() { return logvar; }

    public Tensor std() { return std; }

    /** {@code mean + std * noise}, noise ~ N(0, 1) of the same shape (the caller draws it, for reproducibility). */
    public Tensor sample(Tensor noise) {
        if (!java.util.Arrays.equals(noise.shape(), mean.shape()))
            throw new IllegalArgumentException("LatentDistribution.sample: noise " + noise.describe() + " does not match " + mean.describe());
        try (Tensor scaled = Ops.mul(std, noise)) {
            return Ops.add(mean, scaled);
        }
    }

    @Override
    public void close() {
        mean.close();
        logvar.close();
        std.close();
    }
}
