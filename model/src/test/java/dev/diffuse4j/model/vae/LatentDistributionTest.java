package dev.diffuse4j.model.vae;

import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LatentDistributionTest {
    @Test
    void splitsClampsAndSamples() {
        int b = 1, h = 2, w = 3, l = 4;
        float[] m = new float[b * h * w * 2 * l], noise = new float[b * h * w * l];
        Random r = new Random(7);
        for (int i = 0; i < m.length; i++) m[i] = (float) (r.nextGaussian() * 20);
        for (int i = 0; i < noise.length; i++) noise[i] = (float) r.nextGaussian();
        try (Scope s = Scope.open(); LatentDistribution d = LatentDistribution.fromMoments(Tensor.of(m, b, h, w, 2 * l))) {
            float[] mean = d.mean().toFloatArray(), logvar = d.logvar().toFloatArray(), std = d.std().toFloatArray();
            float[] sample = d.sample(Tensor.of(noise, b, h, w, l)).toFloatArray();
            for (int p = 0; p < b * h * w; p++) {
                for (int c = 0; c < l; c++) {
                    int i = p * l + c;
                    double mu = m[p * 2 * l + c];
                    double lv = Math.min(Math.max(m[p * 2 * l + l + c], -30.0), 20.0);
                    double sd = Math.exp(0.5 * lv);
                    assertEquals(mu, mean[i], 0);
                    assertEquals(lv, logvar[i], 0);
                    assertEquals(sd, std[i], 1e-6 * sd);
                    assertEquals(mu + sd * noise[i], sample[i], 1e-5 * (Math.abs(mu) + sd * Math.abs(noise[i])) + 1e-6);
                }
            }
        }
    }
}
