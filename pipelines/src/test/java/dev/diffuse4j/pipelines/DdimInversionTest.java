package dev.diffuse4j.pipelines;

import dev.diffuse4j.pipelines.image.RgbImage;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** DDIM inversion and the replayed reference row. */
class DdimInversionTest {
    @Test
    void trajectoryIsNoisiestFirstAndTheReplayedRowEndsOnTheImagesLatent() {
        try (StableDiffusion sd = FakeModels.load("tiny-sd15", Device.CPU); Scope s = Scope.open()) {
            StableDiffusionPipeline p = new StableDiffusionPipeline(sd);
            RgbImage image = p.generate(GenerationRequest.builder("a cat").steps(3).size(64, 64).seed(1).build(), StepListener.NONE).images().get(0);
            List<float[]> zts = DdimInversion.invert(sd, image, "a cat", 64, 64, 5, 2.0);
            assertEquals(6, zts.size(), "steps + 1 latents");
            assertTrue(std(zts.get(0)) > std(zts.get(5)), "the first entry is the noisiest");

            float[][] last = new float[1][];
            LatentHook replay = DdimInversion.replay(zts, 0);
            LatentHook spy = new LatentHook() {
                @Override public float[] initial(float[] l, int per) { return replay.initial(l, per); }

                @Override public float[] afterStep(int step, float[] l, int per) { return last[0] = replay.afterStep(step, l, per); }
            };
            GenerationResult r = p.generate(GenerationRequest.builder("a dog").batchPrompts(List.of("a cat", "a dog")).steps(5).size(64, 64).build(),
                    StepListener.NONE, spy);
            float[] z0 = zts.get(5);
            assertArrayEquals(z0, java.util.Arrays.copyOf(last[0], z0.length), 0f, "item 0 ends exactly on z0");
            RgbImage roundTrip = Pixels.toRgb(sd.vae().decodeScaled(Tensor.of(z0, 1, 8, 8, 4))).get(0);
            assertTrue(EndToEndTest.meanAbsDiff(roundTrip, r.images().get(0)) < 0.5, "the reference decodes to the VAE round trip of the image");
        }
    }

    static double std(float[] v) {
        double m = 0, s = 0;
        for (float x : v) m += x;
        m /= v.length;
        for (float x : v) s += (x - m) * (x - m);
        return Math.sqrt(s / v.length);
    }
}
