package dev.diffuse4j.model.vae;

import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.autograd.Gradients;
import dev.diffuse4j.runtime.autograd.Tape;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.weights.Checkpoint;
import dev.diffuse4j.weights.Checkpoints;
import dev.diffuse4j.weights.DeterministicWeights;
import dev.diffuse4j.weights.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A small VAE's decoder (wrt the latent) and encoder moments (wrt the image) are differentiable: directional finite differences. */
class VaeGradientTest {
    private static Tensor random(Random r, int[] shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }

    private static double dot(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        double s = 0;
        for (int i = 0; i < x.length; i++) s += (double) x[i] * y[i];
        return s;
    }

    private static void checkDirectional(UnaryOperator<Tensor> f, Tensor x0, String what) {
        Random r = new Random(what.hashCode());
        double h = 1e-2;
        try (Scope s = Scope.open(); Tape tape = Tape.record()) {
            Tensor x = tape.watch(x0);
            Tensor y = f.apply(x);
            Tensor w = random(r, y.shape()), v = random(r, x0.shape());
            Gradients g = tape.backward(Map.of(y, w));
            double directional = dot(g.of(x), v);
            double fd = (dot(w, f.apply(Ops.add(x0, Ops.scale(v, (float) h)))) - dot(w, f.apply(Ops.sub(x0, Ops.scale(v, (float) h))))) / (2 * h);
            assertTrue(Math.abs(fd) > 1e-3, what + ": the loss must depend on the input");
            assertEquals(fd, directional, 2e-3 * Math.abs(fd) + 1e-4, what + ": directional derivative vs finite difference");
        }
    }

    @Test
    void decoderAndEncoderMoments(@TempDir Path dir) {
        Path file = dir.resolve("vae.safetensors");
        try (DeterministicWeights gen = new DeterministicWeights(
                LdmVaeMapping.checkpointTensors(VaeCheckpointTest.SMALL, AutoencoderKL.Part.BOTH, LdmVaeMapping.PREFIX))) {
            SafetensorsWriter.write(file, gen, Map.of());
        }
        Random r = new Random(5);
        try (Checkpoint ckpt = Checkpoints.open(file); AutoencoderKL vae = VaeLoader.from(ckpt, AutoencoderKL.Part.BOTH, Device.CPU);
             Tensor latent = random(r, new int[]{1, 4, 4, 4}); Tensor image = random(r, new int[]{1, 8, 8, 3})) {
            checkDirectional(vae::decode, latent, "vae decode");
            checkDirectional(vae::moments, image, "vae encoder moments");
        }
    }
}
