package dev.diffuse4j.pipelines;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class ImagePromptPipelineTest {
    @Test
    void noiseAdaInGivesEveryItemTheReferenceChannelStatistics() {
        Random r = new Random(System.nanoTime());
        int positions = 64, channels = 4, per = positions * channels;
        float[] ref = new float[per], latents = new float[3 * per];
        for (int i = 0; i < per; i++) ref[i] = (float) (r.nextGaussian() * (1 + i % channels) + i % channels);
        for (int i = 0; i < latents.length; i++) latents[i] = (float) r.nextGaussian();
        float[] out = ImagePromptPipeline.adainToReference(latents, ref, per, channels);
        for (int item = 0; item < 3; item++)
            for (int c = 0; c < channels; c++) {
                double[] a = channel(out, item * per, positions, channels, c), b = channel(ref, 0, positions, channels, c);
                assertEquals(b[0], a[0], 1e-4, "mean, item " + item + " channel " + c);
                assertEquals(b[1], a[1], 1e-3 * (1 + b[1]), "variance, item " + item + " channel " + c);
            }
        assertArrayEquals(ref, ImagePromptPipeline.adainToReference(ref, ref, per, channels), 1e-4f, "AdaIN to itself is the identity");
    }

    /** {mean, unbiased variance} of one channel. */
    static double[] channel(float[] x, int off, int positions, int channels, int c) {
        double m = 0, v = 0;
        for (int p = 0; p < positions; p++) m += x[off + p * channels + c];
        m /= positions;
        for (int p = 0; p < positions; p++) v += Math.pow(x[off + p * channels + c] - m, 2);
        return new double[]{m, v / (positions - 1)};
    }
}
