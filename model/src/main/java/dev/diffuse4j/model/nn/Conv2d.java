package dev.diffuse4j.model.nn;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Conv2dParams;
import dev.diffuse4j.runtime.ops.Ops;

/**
 * NHWC convolution. Checkpoints store weights OIHW [out, in, kh, kw]; they are re-laid once, at
 * construction, to [out, kh, kw, in] so each output channel reads contiguous input channels.
 * The OIHW tensor the store hands over is consumed (closed) once re-laid.
 */
public final class Conv2d {
    private final Tensor weight; // [out, kh, kw, in]
    private final Tensor bias;
    private final Conv2dParams params;
    private final int in, out, kernel;

    private Conv2d(Tensor weight, Tensor bias, Conv2dParams params, int in, int out, int kernel) {
        this.weight = weight;
        this.bias = bias;
        this.params = params;
        this.in = in;
        this.out = out;
        this.kernel = kernel;
    }

    public static Conv2d of(Params p, int in, int out, int kernel, Conv2dParams params) {
        Tensor w = p.get("weight", out, in, kernel, kernel);
        Tensor b = p.get("bias", out);
        Tensor ohwi = null;
        if (w != null) {
            try (Tensor view = w.permute(0, 2, 3, 1)) {
                ohwi = view.contiguous();
            }
            w.close(); // only the re-laid copy is kept: a loaded model holds each conv weight once
        }
        return new Conv2d(ohwi, b, params, in, out, kernel);
    }

    /** kernel x kernel, stride 1, "same" padding. */
    public static Conv2d same(Params p, int in, int out, int kernel) {
        return of(p, in, out, kernel, Conv2dParams.of(1, kernel / 2));
    }

    public Tensor forward(Tensor x) { return Ops.conv2d(x, weight, bias, params); }

    /** conv(x) + residual, fused. */
    public Tensor forward(Tensor x, Tensor residual) { return Ops.conv2d(x, weight, bias, params, residual); }

    public int in() { return in; }

    public int out() { return out; }

    public int kernel() { return kernel; }

    /** Weights in NHWC-friendly layout [out, kh, kw, in]. */
    public Tensor weight() { return weight; }

    public Tensor bias() { return bias; }
}
