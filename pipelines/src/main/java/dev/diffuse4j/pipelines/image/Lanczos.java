package dev.diffuse4j.pipelines.image;

/**
 * Antialiased Lanczos-3 resampling of 8-bit RGB, the way Pillow's {@code Image.resize(..., LANCZOS)}
 * does it (what diffusers' image processors call): separable, horizontal pass first; when shrinking,
 * the kernel is stretched by the scale so every source pixel contributes (no aliasing); weights are
 * normalised per output pixel, quantised to 22-bit fixed point, and each pass rounds and clips to
 * 8 bits.
 */
public final class Lanczos {
    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double SUPPORT = 3.0;

    private Lanczos() {}

    /** {@code img} resized to {@code width x height}. */
    public static RgbImage resize(RgbImage img, int width, int height) {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("cannot resize to " + width + "x" + height);
        if (img.width() == width && img.height() == height) return img;
        RgbImage out = img;
        if (width != img.width()) out = pass(out, width, true);
        if (height != img.height()) out = pass(out, height, false);
        return out;
    }

    /** Pillow's lanczos filter: sinc(x) sinc(x / 3) on (-3, 3). */
    static double filter(double x) {
        if (x <= -SUPPORT || x >= SUPPORT) return 0;
        return sinc(x) * sinc(x / SUPPORT);
    }

    private static double sinc(double x) {
        if (x == 0) return 1;
        double px = Math.PI * x;
        return Math.sin(px) / px;
    }

    /** Per output index: first source index and fixed-point weights. */
    record Coefficients(int[] first, int[][] weights) {
        static Coefficients of(int inSize, int outSize) {
            double scale = (double) inSize / outSize, filterScale = Math.max(scale, 1.0);
            double support = SUPPORT * filterScale, ss = 1.0 / filterScale;
            int[] first = new int[outSize];
            int[][] weights = new int[outSize][];
            for (int o = 0; o < outSize; o++) {
                double center = (o + 0.5) * scale;
                int lo = Math.max((int) (center - support + 0.5), 0), hi = Math.min((int) (center + support + 0.5), inSize);
                double[] w = new double[hi - lo];
                double sum = 0;
                for (int i = 0; i < w.length; i++) sum += w[i] = filter((i + lo - center + 0.5) * ss);
                int[] q = new int[w.length];
                for (int i = 0; i < w.length; i++) {
                    double v = sum != 0 ? w[i] / sum : w[i];
                    q[i] = (int) (v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
                }
                first[o] = lo;
                weights[o] = q;
            }
            return new Coefficients(first, weights);
        }
    }

    private static RgbImage pass(RgbImage in, int outSize, boolean horizontal) {
        int w = in.width(), h = in.height();
        int inSize = horizontal ? w : h;
        int ow = horizontal ? outSize : w, oh = horizontal ? h : outSize;
        Coefficients c = Coefficients.of(inSize, outSize);
        byte[] src = in.rgb(), dst = new byte[ow * oh * 3];
        long step = horizontal ? 3 : 3L * w; // bytes between neighbouring taps
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                int o = horizontal ? x : y;
                int[] k = c.weights()[o];
                int base = horizontal ? (y * w + c.first()[o]) * 3 : (c.first()[o] * w + x) * 3;
                for (int ch = 0; ch < 3; ch++) {
                    long acc = 1L << (PRECISION_BITS - 1);
                    for (int i = 0; i < k.length; i++) acc += (long) (src[(int) (base + i * step) + ch] & 0xFF) * k[i];
                    long v = acc >> PRECISION_BITS;
                    dst[(y * ow + x) * 3 + ch] = (byte) (v < 0 ? 0 : v > 255 ? 255 : v);
                }
            }
        return new RgbImage(ow, oh, dst);
    }
}
