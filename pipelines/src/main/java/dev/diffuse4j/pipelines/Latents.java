package dev.diffuse4j.pipelines;

import dev.diffuse4j.schedulers.noise.NoiseSource;

/** Latent arrays as the pipelines keep them: NHWC floats [B, h, w, C] on the host. */
final class Latents {
    private Latents() {}

    /**
     * Gaussian noise for [B, C, h, w] drawn in NCHW element order (as diffusers' randn does, so seeds
     * match across tools), returned laid out NHWC.
     */
    static float[] gaussianNhwc(NoiseSource noise, int batch, int channels, int h, int w) {
        float[] nchw = new float[batch * channels * h * w];
        noise.fill(nchw, 0, nchw.length);
        float[] nhwc = new float[nchw.length];
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < channels; c++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        nhwc[((b * h + y) * w + x) * channels + c] = nchw[((b * channels + c) * h + y) * w + x];
        return nhwc;
    }

    /** [a; a]: the same latents for the uncond and cond halves of a guided batch. */
    static float[] twice(float[] a) {
        float[] out = new float[a.length * 2];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(a, 0, out, a.length, a.length);
        return out;
    }

    /** The batch repeated {@code times} times. */
    static float[] repeat(float[] a, int times) {
        float[] out = new float[a.length * times];
        for (int i = 0; i < times; i++) System.arraycopy(a, 0, out, i * a.length, a.length);
        return out;
    }

    static float[] scale(float[] a, float s) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i] * s;
        return out;
    }
}
