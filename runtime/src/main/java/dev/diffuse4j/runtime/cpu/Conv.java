package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Conv2dParams;

import java.lang.foreign.MemorySegment;

/**
 * NHWC 2-D convolution as an implicit GEMM: C[B*Ho*Wo, Cout] = im2col(x)[B*Ho*Wo, kh*kw*Cin] W^T,
 * with the weight [Cout, kh, kw, Cin] read as the [Cout, K] matrix of a linear layer. The im2col
 * tiles are gathered while packing ({@link Im2colSource}); a 1x1 stride-1 unpadded convolution
 * reads x directly as a [B*H*W, Cin] matrix. Bias and the residual are fused into the epilogue.
 */
final class Conv {
    private Conv() {}

    static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p, Tensor residual) {
        String call = "conv2d(x " + x.describe() + ", w " + w.describe() + (bias == null ? "" : ", bias " + bias.describe())
                + (residual == null ? "" : ", residual " + residual.describe()) + ", " + p + ")";
        if (p == null) throw new IllegalArgumentException(call + ": missing Conv2dParams");
        if (x.rank() != 4) throw new IllegalArgumentException(call + ": input must be [B, H, W, Cin]");
        if (w.rank() != 4) throw new IllegalArgumentException(call + ": weight must be [Cout, kh, kw, Cin]");
        Gemm.checkFloat(call, x);
        Gemm.checkFloat(call, w);
        int batch = x.dim(0), h = x.dim(1), wd = x.dim(2), cin = x.dim(3);
        int cout = w.dim(0), kh = w.dim(1), kw = w.dim(2);
        if (w.dim(3) != cin) throw new IllegalArgumentException(call + ": weight has " + w.dim(3) + " input channels, input has " + cin);
        if (kh < 1 || kw < 1) throw new IllegalArgumentException(call + ": empty kernel");
        if (h + p.padTop() + p.padBottom() < kh || wd + p.padLeft() + p.padRight() < kw)
            throw new IllegalArgumentException(call + ": padded input is smaller than the kernel");
        int outH = p.outH(h, kh), outW = p.outW(wd, kw);
        float[] b = Gemm.biasArray(call, bias, cout);
        int[] outShape = {batch, outH, outW, cout};
        if (residual != null) {
            Gemm.checkFloat(call, residual);
            if (!java.util.Arrays.equals(residual.shape(), outShape))
                throw new IllegalArgumentException(call + ": residual must be " + java.util.Arrays.toString(outShape));
        }
        Tensor y = Tensor.zeros(DType.F32, outShape);
        int m = batch * outH * outW, k = kh * kw * cin;
        if (m == 0 || cout == 0) return y;

        Tensor wm = weightRows(w) ? w : Copy.contiguousCopy(w);
        Tensor res = residual == null || residual.dtype() == DType.F32 && residual.isContiguous() ? residual : Copy.cast(residual, DType.F32);
        try {
            PanelSource a = plainGemm(x, kh, kw, p)
                    ? StridedSource.of(x, x.offset(), Gemm.collapsedRowStride(x), x.stride(3))
                    : new Im2colSource(x, kw, outH, outW, p.strideH(), p.strideW(), p.padTop(), p.padLeft());
            PanelSource wb = StridedSource.of(wm, wm.offset(), wm.stride(0), wm.stride(3));
            MemorySegment rs = res == null ? null : res.cpuSegment();
            GemmOutput out = GemmOutput.fused(y.cpuSegment(), 0, cout, b, rs, res == null ? 0 : res.offset(), cout);
            GemmDriver.run(m, cout, k, a, wb, out, GemmDriver.worthParallel(m, cout, k));
        } finally {
            if (wm != w) wm.close();
            if (res != residual) res.close();
        }
        return y;
    }

    /** Whether the conv is a plain GEMM over x viewed as [B*H*W, Cin] (1x1, stride 1, no padding, foldable strides). */
    private static boolean plainGemm(Tensor x, int kh, int kw, Conv2dParams p) {
        return kh == 1 && kw == 1 && p.strideH() == 1 && p.strideW() == 1
                && p.padTop() == 0 && p.padLeft() == 0 && p.padBottom() == 0 && p.padRight() == 0
                && Gemm.collapsedRowStride(x) >= 0;
    }

    /** Whether w's (kh, kw, Cin) dims fold into one depth index with stride stride(3). */
    private static boolean weightRows(Tensor w) {
        long sc = w.stride(3);
        return (w.dim(2) == 1 || w.stride(2) == sc * w.dim(3))
                && (w.dim(1) == 1 || w.stride(1) == sc * w.dim(3) * w.dim(2));
    }
}
