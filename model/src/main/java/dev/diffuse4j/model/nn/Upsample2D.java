package dev.diffuse4j.model.nn;

import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/** diffusers Upsample2D with a conv: nearest-neighbour x2, then a 3x3 conv named {@code conv}. */
public final class Upsample2D {
    private final Conv2d conv;

    private Upsample2D(Conv2d conv) { this.conv = conv; }

    public static Upsample2D of(Params p, int channels) {
        return new Upsample2D(Conv2d.same(p.at("conv"), channels, channels, 3));
    }

    /** [B, H, W, C] -> [B, 2H, 2W, C]. */
    public Tensor forward(Tensor x) { return forward(x, 2 * x.dim(1), 2 * x.dim(2)); }

    /**
     * Upsamples to an explicit size, as diffusers does when the latent size is not a multiple of the
     * model's total downsampling (the size of the matching skip tensor). Nearest interpolation from
     * H to 2H-1 picks the same rows as x2 followed by dropping the last row, so that is what runs.
     */
    public Tensor forward(Tensor x, int height, int width) {
        int h = x.dim(1), w = x.dim(2);
        if ((height != 2 * h && height != 2 * h - 1) || (width != 2 * w && width != 2 * w - 1))
            throw new IllegalArgumentException("Upsample2D: cannot upsample " + x.describe() + " to " + height + "x" + width
                    + " (only 2x, or 2x minus one row/column)");
        try (Scope s = Scope.open()) {
            Tensor up = Ops.upsampleNearest2x(x);
            if (height != 2 * h || width != 2 * w) up = up.slice(1, 0, height).slice(2, 0, width).contiguous();
            return s.keep(conv.forward(up));
        }
    }
}
