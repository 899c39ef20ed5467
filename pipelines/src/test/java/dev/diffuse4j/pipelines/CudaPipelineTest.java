package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cuda.CudaBackend;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole pipelines on the CUDA backend (a GPU, or the host emulator in the cuda-emulated test run):
 * CUDA-graph replay of the UNet step against eager execution, and CUDA against the CPU. Skipped,
 * with the reason, where CUDA cannot run.
 */
class CudaPipelineTest {
    static Device cudaOrSkip() {
        String why = CudaBackend.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "skipped: no CUDA device (" + why + ")");
        return Device.cuda();
    }

    private static final class Warnings implements StepListener {
        final List<String> seen = new ArrayList<>();

        @Override public void onWarning(String message) { seen.add(message); }
    }

    private static GenerationRequest request() {
        return GenerationRequest.builder("a lighthouse at dusk").negativePrompt("fog").steps(4).seed(11).size(64, 48).build();
    }

    /** Replaying the captured step runs the same kernels on the same inputs: the images are bit-identical. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-sd15", "tiny-sdxl"})
    void graphReplayGivesTheEagerImages(String name) {
        Device cuda = cudaOrSkip();
        try (StableDiffusion sd = FakeModels.load(name, new Placement(cuda, DType.F16))) {
            Warnings w = new Warnings();
            byte[] eager = new StableDiffusionPipeline(sd).cudaGraphs(false).generate(request(), w).images().get(0).rgb();
            byte[] graphed = new StableDiffusionPipeline(sd).cudaGraphs(true).generate(request(), w).images().get(0).rgb();
            assertEquals(List.of(), w.seen, "no warnings (a failed capture warns and goes on eagerly)");
            assertArrayEquals(eager, graphed, name + ": graph replay changed the image");
        }
    }

    /** The UNet graph captures once and replays every later step, matching eager predictions exactly. */
    @Test
    void unetGraphCapturesOnTheSecondStepAndReplays() {
        Device cuda = cudaOrSkip();
        try (StableDiffusion sd = FakeModels.load("tiny-sd15", new Placement(cuda, DType.F16));
             Tensor context = Ops.to(Tensor.of(gaussian(new Random(5), 2 * 77 * 32), 2, 77, 32), cuda)) {
            int[] shape = {2, 6, 8, 4};
            float[] timesteps = {901, 601, 301, 1};
            Random r = new Random(3);
            Warnings w = new Warnings();
            try (UNetGraph g = UNetGraph.of(sd.unet(), cuda, false, true, (x, t) -> UNetInput.of(x, t, context))) {
                assertTrue(g != null, "graphs apply to the plain UNet on CUDA");
                for (int i = 0; i < timesteps.length; i++) {
                    float[] x = gaussian(r, 2 * 6 * 8 * 4);
                    float[] got = g.forward(x, shape, timesteps[i], w);
                    float[] want;
                    try (Scope s = Scope.open()) {
                        UNetInput in = UNetInput.of(Ops.to(Tensor.of(x, shape), cuda), timesteps[i], context);
                        want = Ops.to(sd.unet().forward(in), Device.CPU).toFloatArray();
                    }
                    assertArrayEquals(want, got, "step " + i + (i >= 1 ? " (graph)" : " (eager warm-up)"));
                    assertEquals(i >= 1, g.captured(), "captured from the second step on");
                }
            }
            assertEquals(List.of(), w.seen);
        }
    }

    private static float[] gaussian(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** The same request on CUDA (F32) and on the CPU: the pipelines agree to a fraction of a level. */
    @Test
    void cudaImagesMatchTheCpu() {
        Device cuda = cudaOrSkip();
        try (StableDiffusion gpu = FakeModels.load("tiny-sd15", new Placement(cuda, DType.F32));
             StableDiffusion cpu = FakeModels.load("tiny-sd15", Device.CPU)) {
            byte[] a = new StableDiffusionPipeline(gpu).generate(request(), StepListener.NONE).images().get(0).rgb();
            byte[] b = new StableDiffusionPipeline(cpu).generate(request(), StepListener.NONE).images().get(0).rgb();
            double sum = 0;
            for (int i = 0; i < a.length; i++) sum += Math.abs((a[i] & 255) - (b[i] & 255));
            double mean = sum / a.length;
            assertTrue(mean < 0.5, "mean |CUDA - CPU| = " + mean + " levels");
        }
    }
}
