package dev.diffuse4j.model.nn;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/**
 * Conversions between the channels-first layout of checkpoints, goldens and most Python code
 * (NCHW) and the channels-last layout the models compute in (NHWC). Both return new contiguous
 * tensors; the input is left to its owner.
 */
public final class Nhwc {
    private Nhwc() {}

    /** [B, C, H, W] -> [B, H, W, C]. */
    public static Tensor fromNchw(Tensor nchw) {
        if (nchw.rank() != 4) throw new IllegalArgumentException("fromNchw: expected [B, C, H, W], got " + nchw.describe());
        try (Tensor view = nchw.permute(0, 2, 3, 1)) {
            return Ops.contiguous(view);
        }
    }

    /** [B, H, W, C] -> [B, C, H, W]. */
    public static Tensor toNchw(Tensor nhwc) {
        if (nhwc.rank() != 4) throw new IllegalArgumentException("toNchw: expected [B, H, W, C], got " + nhwc.describe());
        try (Tensor view = nhwc.permute(0, 3, 1, 2)) {
            return Ops.contiguous(view);
        }
    }
}
