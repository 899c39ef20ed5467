package dev.diffuse4j.runtime.cpu.grad;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cpu.Parallel;
import dev.diffuse4j.runtime.ops.Conv2dParams;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * im2col and its adjoint col2im for NHWC convolutions, so conv2d's weight and input gradients are two
 * GEMMs: dW = dy^T cols and dx = col2im(dy W). col2im gathers (each input pixel sums the patch entries
 * that read it), so tasks over input rows never write the same element.
 */
public final class Patches {
    private Patches() {}

    public static Tensor im2col(Tensor x, int kh, int kw, Conv2dParams p) {
        if (x.rank() != 4) throw new IllegalArgumentException("im2col: x " + x.describe() + " must be NHWC [B, H, W, C]");
        int b = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
        int ho = p.outH(h, kh), wo = p.outW(w, kw);
        if (ho <= 0 || wo <= 0) throw new IllegalArgumentException("im2col: a " + kh + "x" + kw + " window with " + p + " does not fit " + x.describe());
        long k = (long) kh * kw * c;
        Tensor cols = Tensor.zeros(DType.F32, b * ho * wo, Math.toIntExact(k));
        MemorySegment cs = cols.cpuSegment();
        try (HostF32 xs = new HostF32("im2col", "x", x)) {
            Parallel.forRange(b * ho, Math.max(1, 64 / wo), (lo, hi) -> {
                for (int row = lo; row < hi; row++) {
                    int item = row / ho, oy = row % ho;
                    for (int ox = 0; ox < wo; ox++) {
                        long dst = ((long) row * wo + ox) * k * 4;
                        for (int ky = 0; ky < kh; ky++) {
                            int iy = oy * p.strideH() - p.padTop() + ky;
                            if (iy < 0 || iy >= h) continue;
                            for (int kx = 0; kx < kw; kx++) {
                                int ix = ox * p.strideW() - p.padLeft() + kx;
                                if (ix < 0 || ix >= w) continue;
                                long src = xs.base + ((((long) item * h + iy) * w + ix) * c) * 4;
                                MemorySegment.copy(xs.seg, src, cs, dst + ((long) (ky * kw + kx) * c) * 4, 4L * c);
                            }
                        }
                    }
                }
            });
        }
        return cols;
    }

    public static Tensor col2im(Tensor cols, int[] inputShape, int kh, int kw, Conv2dParams p) {
        if (inputShape.length != 4) throw new IllegalArgumentException("col2im: input shape " + Arrays.toString(inputShape) + " must be NHWC");
        int b = inputShape[0], h = inputShape[1], w = inputShape[2], c = inputShape[3];
        int ho = p.outH(h, kh), wo = p.outW(w, kw);
        long k = (long) kh * kw * c;
        if (cols.rank() != 2 || cols.dim(0) != b * ho * wo || cols.dim(1) != k)
            throw new IllegalArgumentException("col2im: cols " + cols.describe() + " must be [" + (b * ho * wo) + ", " + k + "] for input "
                    + Arrays.toString(inputShape) + " and a " + kh + "x" + kw + " window with " + p);
        Tensor dx = Tensor.zeros(DType.F32, inputShape);
        MemorySegment ds = dx.cpuSegment();
        try (HostF32 cs = new HostF32("col2im", "cols", cols)) {
            Parallel.forRange(b * h, Math.max(1, 16 / w), (lo, hi) -> {
                float[] acc = new float[c];
                for (int row = lo; row < hi; row++) {
                    int item = row / h, iy = row % h;
                    for (int ix = 0; ix < w; ix++) {
                        Arrays.fill(acc, 0f);
                        for (int ky = 0; ky < kh; ky++) {
                            int ty = iy + p.padTop() - ky;
                            if (ty < 0 || ty % p.strideH() != 0 || ty / p.strideH() >= ho) continue;
                            int oy = ty / p.strideH();
                            for (int kx = 0; kx < kw; kx++) {
                                int tx = ix + p.padLeft() - kx;
                                if (tx < 0 || tx % p.strideW() != 0 || tx / p.strideW() >= wo) continue;
                                int ox = tx / p.strideW();
                                long src = (((long) item * ho + oy) * wo + ox) * k + (long) (ky * kw + kx) * c;
                                for (int ch = 0; ch < c; ch++) acc[ch] += cs.get(src + ch);
                            }
                        }
                        long dst = ((((long) item * h + iy) * w + ix) * c) * 4;
                        MemorySegment.copy(acc, 0, ds, HostF32.F, dst, c);
                    }
                }
            });
        }
        return dx;
    }
}
