package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The implicit im2col matrix of an NHWC convolution, never materialised: lane p is output pixel
 * (b, oy, ox) in row-major order, depth k = (ky*kw + kx)*Cin + ci (the layout of a [Cout, kh, kw, Cin]
 * weight), and X[p][k] = x[b, oy*sh - padTop + ky, ox*sw - padLeft + kx, ci], zero outside the input.
 * A panel is packed by gathering each pixel's depth range (runs of contiguous channels, one per
 * kernel tap) into row scratch and transposing it.
 */
final class Im2colSource implements PanelSource {
    private final MemorySegment seg;
    private final DType dtype;
    private final long offset, sb, sh, sw, sc;
    private final int h, w, cin, kw, outH, outW, strideH, strideW, padTop, padLeft;

    Im2colSource(Tensor x, int kw, int outH, int outW, int strideH, int strideW, int padTop, int padLeft) {
        this.seg = x.cpuSegment();
        this.dtype = x.dtype();
        this.offset = x.offset();
        this.sb = x.stride(0);
        this.sh = x.stride(1);
        this.sw = x.stride(2);
        this.sc = x.stride(3);
        this.h = x.dim(1);
        this.w = x.dim(2);
        this.cin = x.dim(3);
        this.kw = kw;
        this.outH = outH;
        this.outW = outW;
        this.strideH = strideH;
        this.strideW = strideW;
        this.padTop = padTop;
        this.padLeft = padLeft;
    }

    @Override
    public void pack(int p0, int lanes, int width, int k0, int depth, float[] dst, int dstOff, float[] scratch) {
        if (depth == 0) return;
        for (int r = 0; r < lanes; r++) gatherRow(p0 + r, k0, depth, scratch, r * depth);
        Panels.transpose(scratch, 0, depth, lanes, depth, dst, dstOff, width);
    }

    private void gatherRow(int pixel, int k0, int depth, float[] dst, int off) {
        int ox = pixel % outW, rest = pixel / outW;
        int oy = rest % outH, b = rest / outH;
        int y0 = oy * strideH - padTop, x0 = ox * strideW - padLeft;
        int tap = k0 / cin, ci = k0 % cin;
        int pos = 0;
        while (pos < depth) {
            int run = Math.min(cin - ci, depth - pos);
            int iy = y0 + tap / kw, ix = x0 + tap % kw;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                long e = offset + b * sb + iy * sh + ix * sw + ci * sc;
                Panels.loadStrided(seg, dtype, e * dtype.byteSize(), sc, dst, off + pos, run);
            } else {
                java.util.Arrays.fill(dst, off + pos, off + pos + run, 0f);
            }
            pos += run;
            tap++;
            ci = 0;
        }
    }
}
