package dev.diffuse4j.runtime.ops;

/**
 * Stride and explicit padding of a 2-D convolution (zeros outside the input). Asymmetric padding
 * covers the VAE encoder's downsample, which pads right and bottom only.
 */
public record Conv2dParams(int strideH, int strideW, int padTop, int padLeft, int padBottom, int padRight) {
    public Conv2dParams {
        if (strideH < 1 || strideW < 1) throw new IllegalArgumentException("conv2d stride must be >= 1, got " + strideH + "x" + strideW);
        if (padTop < 0 || padLeft < 0 || padBottom < 0 || padRight < 0) throw new IllegalArgumentException("conv2d padding must be >= 0");
    }

    /** Same padding on every side. */
    public static Conv2dParams of(int stride, int pad) { return new Conv2dParams(stride, stride, pad, pad, pad, pad); }

    public int outH(int inH, int kh) { return (inH + padTop + padBottom - kh) / strideH + 1; }

    public int outW(int inW, int kw) { return (inW + padLeft + padRight - kw) / strideW + 1; }
}
