package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.vae.AutoencoderKL;
import dev.diffuse4j.model.vae.LdmVaeMapping;
import dev.diffuse4j.model.vae.VaeLoader;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.weights.DeterministicWeights;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Tiled VAE decoding: exact on one tile, seamless and close to the whole decode on several. */
class VaeDecodingTest {
    static AutoencoderKL tinyVae() {
        try (DeterministicWeights w = new DeterministicWeights(LdmVaeMapping.checkpointTensors(FakeModels.TINY_VAE, AutoencoderKL.Part.DECODER, LdmVaeMapping.PREFIX))) {
            return VaeLoader.fromSingleFile(FakeModels.TINY_VAE, w, AutoencoderKL.Part.DECODER, Device.CPU);
        }
    }

    static Tensor latents(long seed, int h, int w) {
        Random r = new Random(seed);
        float[] v = new float[h * w * 4];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, 1, h, w, 4);
    }

    /** Max over column boundaries of the mean |x[., c+1] - x[., c]| (over rows and channels). */
    static double steepestColumnStep(float[] img, int h, int w) {
        double max = 0;
        for (int c = 0; c + 1 < w; c++) {
            double s = 0;
            for (int y = 0; y < h; y++)
                for (int k = 0; k < 3; k++) s += Math.abs(img[(y * w + c + 1) * 3 + k] - img[(y * w + c) * 3 + k]);
            max = Math.max(max, s / (h * 3));
        }
        return max;
    }

    @Test
    void oneTileIsTheWholeDecode() {
        try (AutoencoderKL vae = tinyVae(); Scope s = Scope.open()) {
            Tensor z = latents(3, 8, 8);
            assertArrayEquals(vae.decodeScaled(z).toFloatArray(), VaeDecoding.tiled(vae, z, 8, 4).toFloatArray(), 0f);
        }
    }

    @Test
    void overlappingTilesBlendCloseToTheWholeDecode() {
        long seed = System.nanoTime();
        try (AutoencoderKL vae = tinyVae(); Scope s = Scope.open()) {
            Tensor z = latents(seed, 16, 24);
            float[] whole = vae.decodeScaled(z).toFloatArray();
            Tensor tiledT = VaeDecoding.tiled(vae, z, 8, 4);
            assertArrayEquals(new int[]{1, 128, 192, 3}, tiledT.shape());
            float[] tiled = tiledT.toFloatArray();
            double diff = 0, mag = 0;
            for (int i = 0; i < whole.length; i++) {
                assertTrue(Float.isFinite(tiled[i]), "seed " + seed);
                diff += Math.abs(whole[i] - tiled[i]);
                mag += Math.abs(whole[i]);
            }
            // tiles see less context (GroupNorm statistics, mid-block attention), so values move, but the picture stays
            assertTrue(diff / mag < 0.5, "relative L1 deviation " + diff / mag + ", seed " + seed);
            // no seams: the steepest column-to-column step is no steeper than the whole decode's
            double tiledSeam = steepestColumnStep(tiled, 128, 192), wholeSeam = steepestColumnStep(whole, 128, 192);
            assertTrue(tiledSeam <= 1.5 * wholeSeam, "tiled " + tiledSeam + " vs whole " + wholeSeam + ", seed " + seed);
        }
    }
}
