package dev.diffuse4j.pipelines.image;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class LanczosTest {
    /**
     * Independent float64 separable Lanczos-3 with the kernel stretched by the shrink factor; like Pillow
     * it stores the horizontal pass as 8-bit (rounded, clipped), so only the final rounding and the
     * weights' fixed-point quantisation separate it from the implementation.
     */
    private static double[] reference(double[] src, int w, int h, int ow, int oh) {
        double[] tmp = new double[ow * h], out = new double[ow * oh];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < ow; x++) tmp[y * ow + x] = Math.max(0, Math.min(255, Math.floor(tap(src, y * w, 1, w, ow, x) + 0.5)));
        for (int y = 0; y < oh; y++) for (int x = 0; x < ow; x++) out[y * ow + x] = tap(tmp, x, ow, h, oh, y);
        return out;
    }

    private static double tap(double[] v, int base, int stride, int in, int out, int o) {
        double scale = (double) in / out, fs = Math.max(1, scale), center = (o + 0.5) * scale, sum = 0, wsum = 0;
        for (int i = 0; i < in; i++) {
            double t = (i + 0.5 - center) / fs;
            double k = Math.abs(t) >= 3 ? 0 : t == 0 ? 1 : 3 * Math.sin(Math.PI * t) * Math.sin(Math.PI * t / 3) / (Math.PI * Math.PI * t * t);
            sum += k * v[base + i * stride];
            wsum += k;
        }
        return sum / wsum;
    }

    private static RgbImage grey(int w, int h, java.util.function.IntBinaryOperator value) {
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) java.util.Arrays.fill(rgb, (y * w + x) * 3, (y * w + x) * 3 + 3, (byte) value.applyAsInt(x, y));
        return new RgbImage(w, h, rgb);
    }

    @Test
    void matchesAFloat64LanczosWithinTheFinalRounding() {
        Random r = new Random(3);
        int w = 37, h = 23;
        RgbImage img = grey(w, h, (x, y) -> (int) Math.round(127 + 60 * Math.sin(x * 0.4) * Math.cos(y * 0.3) + r.nextInt(40) - 20));
        double[] src = new double[w * h];
        for (int i = 0; i < src.length; i++) src[i] = img.rgb()[i * 3] & 0xFF;
        for (int[] size : new int[][]{{16, 9}, {64, 48}, {37, 11}, {12, 23}, {80, 10}}) {
            RgbImage out = Lanczos.resize(img, size[0], size[1]);
            double[] ref = reference(src, w, h, size[0], size[1]);
            for (int i = 0; i < ref.length; i++) {
                double expected = Math.max(0, Math.min(255, ref[i]));
                assertEquals(expected, out.rgb()[i * 3] & 0xFF, 1.01, size[0] + "x" + size[1] + " pixel " + i);
                assertEquals(out.rgb()[i * 3], out.rgb()[i * 3 + 2], "channels are resampled alike");
            }
        }
    }

    @Test
    void shrinkingAveragesInsteadOfAliasing() {
        // a 1-pixel checkerboard halved: every output pixel sees equal black and white, as a box filter would
        RgbImage checker = grey(64, 64, (x, y) -> ((x + y) & 1) == 0 ? 255 : 0);
        RgbImage half = Lanczos.resize(checker, 32, 32);
        for (int i = 3 * 32 * 3; i < half.rgb().length - 3 * 32 * 3; i += 3) // away from the borders
            assertEquals(127.5, half.rgb()[i] & 0xFF, 1.5, "pixel " + i / 3);
    }

    @Test
    void constantsAndSizesArePreserved() {
        RgbImage flat = grey(50, 30, (x, y) -> 200);
        for (int[] size : new int[][]{{7, 3}, {50, 30}, {101, 61}}) {
            RgbImage out = Lanczos.resize(flat, size[0], size[1]);
            assertEquals(size[0], out.width());
            assertEquals(size[1], out.height());
            for (byte b : out.rgb()) assertEquals(200, b & 0xFF);
        }
        assertSame(flat, Lanczos.resize(flat, 50, 30));
        assertThrows(IllegalArgumentException.class, () -> Lanczos.resize(flat, 0, 3));
    }

    @Test
    void fitCropsTheCentreToTheTargetAspect() {
        // left third black, middle white, right third black: a square fit keeps only the white middle
        RgbImage wide = grey(90, 30, (x, y) -> x >= 30 && x < 60 ? 255 : 0);
        RgbImage fitted = Images.fit(wide, 15, 15);
        for (byte b : fitted.rgb()) assertEquals(255, b & 0xFF);
        assertThrows(IllegalArgumentException.class, () -> Images.crop(wide, 80, 0, 20, 10));
    }
}
