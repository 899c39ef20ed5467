package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Conv2dParams;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * NHWC 2-D convolution as an implicit GEMM: C[B*Ho*Wo, Cout] = im2col(x)[B*Ho*Wo, kh*kw*Cin] W^T,
 * with the weight [Cout, kh, kw, Cin] read as the [Cout, K] matrix of a linear layer. The im2col
 * tiles are gathered while packing ({@link Im2colSource}); a 1x1 stride-1 unpadded convolution
 * reads x directly as a [B*H*W, Cin] matrix. Bias goes into the epilogue; a residual is fused by
 * starting C from it.
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
        try {
            PanelSource a = plainGemm(x, kh, kw, p)
                    ? StridedSource.of(x, x.offset(), Gemm.collapsedRowStride(x), x.stride(3))
                    : new Im2colSource(x, kw, outH, outW, p.strideH(), p.strideW(), p.padTop(), p.padLeft());
            PanelSource wb = StridedSource.of(wm, wm.offset(), wm.stride(0), wm.stride(3));
            GemmOutput out;
            if (residual != null) {
                // the skip connection is fused by starting C at residual + bias and accumulating onto it
                startFrom(y, residual, b);
                out = GemmOutput.withBias(y.cpuSegment(), 0, cout, 1f, null);
            } else {
                out = GemmOutput.withBias(y.cpuSegment(), 0, cout, 0f, b);
            }
            GemmDriver.run(m, cout, k, a, wb, out, GemmDriver.worthParallel(m, cout, k));
        } finally {
            if (wm != w) wm.close();
        }
        return y;
    }

    /** y [rows, C] (contiguous F32) = residual (any float dtype and strides, same shape) + bias (or null). */
    private static void startFrom(Tensor y, Tensor residual, float[] bias) {
        Tensor r = Gemm.collapsedRowStride(residual) < 0 ? Copy.contiguousCopy(residual) : residual;
        try {
            int cols = r.dim(-1), rows = (int) (r.numel() / Math.max(cols, 1));
            long rowStride = Gemm.collapsedRowStride(r), colStride = r.stride(-1);
            MemorySegment src = r.cpuSegment(), dst = y.cpuSegment();
            Parallel.forRange(rows, Math.max(1, 16384 / Math.max(cols, 1)), (lo, hi) -> {
                float[] row = new float[cols];
                for (int i = lo; i < hi; i++) {
                    Panels.loadStrided(src, r.dtype(), (r.offset() + i * rowStride) * r.dtype().byteSize(), colStride, row, 0, cols);
                    if (bias != null) for (int j = 0; j < cols; j++) row[j] += bias[j];
                    MemorySegment.copy(row, 0, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, (long) i * cols * 4, cols);
                }
            });
        } finally {
            if (r != residual) r.close();
        }
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
