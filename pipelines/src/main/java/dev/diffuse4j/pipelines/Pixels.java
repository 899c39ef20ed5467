package dev.diffuse4j.pipelines;

import dev.diffuse4j.pipelines.image.RgbImage;
import dev.diffuse4j.runtime.Tensor;

import java.util.ArrayList;
import java.util.List;

/** Conversions between VAE-space images ([-1, 1] floats, NHWC) and 8-bit RGB. */
public final class Pixels {
    private Pixels() {}

    /** diffusers' postprocess: (x/2 + 0.5) clamped to [0, 1], times 255, rounded half to even. */
    public static List<RgbImage> toRgb(Tensor images) {
        int n = images.dim(0), h = images.dim(1), w = images.dim(2);
        if (images.dim(3) != 3) throw new IllegalArgumentException("expected NHWC RGB images, got " + images.describe());
        float[] v = images.toFloatArray();
        List<RgbImage> out = new ArrayList<>(n);
        int per = h * w * 3;
        for (int b = 0; b < n; b++) {
            byte[] rgb = new byte[per];
            for (int i = 0; i < per; i++) {
                float x = v[b * per + i] / 2f + 0.5f;
                x = Math.max(0f, Math.min(1f, x));
                rgb[i] = (byte) (int) Math.rint(x * 255f);
            }
            out.add(new RgbImage(w, h, rgb));
        }
        return out;
    }

    /** RGB to the VAE's input range: [1, h, w, 3] floats 2x/255 - 1. */
    public static Tensor fromRgb(RgbImage img) {
        byte[] rgb = img.rgb();
        float[] v = new float[rgb.length];
        for (int i = 0; i < v.length; i++) v[i] = (rgb[i] & 0xFF) / 255f * 2f - 1f;
        return Tensor.of(v, 1, img.height(), img.width(), 3);
    }
}
