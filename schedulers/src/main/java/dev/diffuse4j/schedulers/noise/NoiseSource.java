package dev.diffuse4j.schedulers.noise;

import dev.diffuse4j.runtime.Tensor;

/**
 * A stream of standard-normal float samples. Each call consumes the next samples of the stream, so
 * the same source seeded the same way and asked the same sequence of requests gives the same values.
 *
 * <p>Pipelines draw the initial latents from one and hand it to {@code Scheduler.step} for the noise
 * term of stochastic samplers (DDIM with eta &gt; 0). Implementations are not thread-safe: a source
 * belongs to one generation.
 */
public interface NoiseSource {

    /** Writes the next {@code len} samples of the stream to {@code dst[off .. off+len)}. */
    void fill(float[] dst, int off, int len);

    /** The next {@code n} samples as a new array. */
    default float[] next(int n) {
        if (n < 0) throw new IllegalArgumentException("NoiseSource.next: negative count " + n);
        float[] out = new float[n];
        fill(out, 0, n);
        return out;
    }

    /** The next samples as a new CPU F32 tensor of {@code shape}, filled in row-major order. */
    default Tensor randn(int... shape) {
        long n = 1;
        for (int s : shape) {
            if (s < 0) throw new IllegalArgumentException("NoiseSource.randn: negative dimension in shape " + java.util.Arrays.toString(shape));
            n = Math.multiplyExact(n, (long) s);
        }
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("NoiseSource.randn: " + n + " samples do not fit a Java array");
        return Tensor.of(next((int) n), shape);
    }

    /**
     * Latents drawn in PyTorch's NCHW order (what {@code torch.randn(b, c, h, w)} fills) and returned
     * in this runtime's NHWC layout, so element (n, c, y, x) is the same sample in both runtimes.
     */
    default Tensor randnNchwAsNhwc(int batch, int channels, int height, int width) {
        int plane = Math.multiplyExact(height, width);
        int image = Math.multiplyExact(plane, channels);
        float[] nchw = next(Math.multiplyExact(image, batch));
        float[] nhwc = new float[nchw.length];
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < channels; c++)
                for (int p = 0; p < plane; p++)
                    nhwc[b * image + p * channels + c] = nchw[b * image + c * plane + p];
        return Tensor.of(nhwc, batch, height, width, channels);
    }
}
