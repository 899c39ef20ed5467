package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.pipelines.image.RgbImage;
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
            long before = CudaBackend.get().graphCaptures();
            byte[] graphed = new StableDiffusionPipeline(sd).cudaGraphs(true).generate(request(), w).images().get(0).rgb();
            assertEquals(before + 1, CudaBackend.get().graphCaptures(), "one capture, replayed for the later steps");
            assertEquals(List.of(), w.seen, "no warnings (a failed capture warns and goes on eagerly)");
            assertArrayEquals(eager, graphed, name + ": graph replay changed the image");
        }
    }

    /**
     * The same through the opt-in Hopper kernels (wgmma GEMM, GEGLU and conv, their tensor maps and
     * split-K workspaces frozen into the captured graph): replay is bit-identical to eager, and the
     * image stays within rounding of the mma.sync kernels' one. Runs on an sm_90 GPU and on the host
     * emulator opened as sm_90 (the pipelines module's cuda-emulated-hopper execution).
     */
    @Test
    void graphReplayThroughTheHopperKernelsGivesTheEagerImages() {
        Device cuda = cudaOrSkip();
        CudaBackend be = CudaBackend.get();
        String why = be.wgmmaUnavailableReason();
        Assumptions.assumeTrue(why == null, () -> "skipped: " + why);
        try (StableDiffusion sd = FakeModels.load("tiny-sd15", new Placement(cuda, DType.F16))) {
            Warnings w = new Warnings();
            byte[] mmaSync = new StableDiffusionPipeline(sd).cudaGraphs(false).generate(request(), w).images().get(0).rgb();
            be.useWgmmaGemm(true);
            try {
                long launches = CudaBackend.wgmmaLaunches();
                byte[] eager = new StableDiffusionPipeline(sd).cudaGraphs(false).generate(request(), w).images().get(0).rgb();
                assertTrue(CudaBackend.wgmmaLaunches() > launches, "the eager run launched no wgmma kernel");
                long captures = be.graphCaptures();
                byte[] graphed = new StableDiffusionPipeline(sd).cudaGraphs(true).generate(request(), w).images().get(0).rgb();
                assertEquals(captures + 1, be.graphCaptures(), "one capture, replayed for the later steps");
                assertEquals(List.of(), w.seen, "no warnings (a failed capture warns and goes on eagerly)");
                assertArrayEquals(eager, graphed, "graph replay through the wgmma kernels changed the image");
                double mean = meanLevelDifference(mmaSync, eager);
                assertTrue(mean < 1.0, "mean |wgmma - mma.sync| = " + mean + " levels");
            } finally {
                be.useWgmmaGemm(false);
            }
        }
    }

    /** StyleAligned's shared attention and shared norms are step-invariant: its steps replay as graphs too, bit-identically. */
    @Test
    void styleAlignedStepsReplayAsGraphs() {
        Device cuda = cudaOrSkip();
        List<String> prompts = List.of("a tower", "a tower in snow");
        try (StableDiffusion sd = FakeModels.load("tiny-sd15", new Placement(cuda, DType.F16))) {
            StyleAlignedPipeline.Options o = StyleAlignedPipeline.Options.defaults().withSharedNorm(true);
            Warnings w = new Warnings();
            StyleAlignedPipeline eager = new StyleAlignedPipeline(sd), graphed = new StyleAlignedPipeline(sd);
            eager.pipeline().cudaGraphs(false);
            graphed.pipeline().cudaGraphs(true);
            long before = CudaBackend.get().graphCaptures();
            GenerationResult a = eager.generate(prompts, request(), o, w);
            assertEquals(before, CudaBackend.get().graphCaptures(), "graphs off: nothing captured");
            GenerationResult b = graphed.generate(prompts, request(), o, w);
            assertEquals(before + 1, CudaBackend.get().graphCaptures(), "one capture, replayed for the later steps");
            assertEquals(List.of(), w.seen);
            for (int i = 0; i < prompts.size(); i++)
                assertArrayEquals(a.images().get(i).rgb(), b.images().get(i).rgb(), "image " + i);
        }
    }

    /**
     * ControlNet steps replay too, one graph per plan: Conditional Balance's structure schedule (all
     * residuals while t >= 500, then the mid residual only) gives two plans, so two captures, and the
     * image is bit-identical to eager execution.
     */
    @Test
    void controlNetStepsReplayAsOneGraphPerPlan() {
        Device cuda = cudaOrSkip();
        Placement onGpu = new Placement(cuda, DType.F16);
        try (StableDiffusion sd = FakeModels.load("tiny-sd15", onGpu); var net = FakeModels.controlNet("tiny-sd15", onGpu)) {
            GenerationRequest req = request().toBuilder().steps(6).build();
            List<Control.Level> levels = new ArrayList<>();
            Control control = Control.of(net, ControlNetPipelineTest.stripes(40, 24), 0.8)
                    .withSchedule(Control.Schedule.conditionalBalance(0.5));
            Warnings w = new Warnings();
            byte[] eager = new StableDiffusionPipeline(sd).cudaGraphs(false).generate(req, w, LatentHook.NONE, control).images().get(0).rgb();
            long before = CudaBackend.get().graphCaptures();
            byte[] graphed = new StableDiffusionPipeline(sd).cudaGraphs(true)
                    .generate(req, w, LatentHook.NONE, control.withListener((step, t, level, rows) -> levels.add(level))).images().get(0).rgb();
            assertTrue(levels.stream().filter(l -> l == Control.Level.FULL).count() >= 2
                    && levels.stream().filter(l -> l == Control.Level.MID_ONLY).count() >= 2, "both plans repeat: " + levels);
            assertEquals(before + 2, CudaBackend.get().graphCaptures(), "one capture per plan");
            assertEquals(List.of(), w.seen);
            assertArrayEquals(eager, graphed, "graph replay changed the controlled image");
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
            try (UNetGraph g = UNetGraph.of(sd.unet(), cuda, null, true, (x, t) -> UNetInput.of(x, t, context))) {
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

    /**
     * StyleAligned on CUDA F16 (shared attention over the reference's keys and values, AdaIN folded
     * into the flash kernel's Q/K loads) against the same half-precision run on the CPU.
     */
    @Test
    void styleAlignedOnCudaMatchesTheCpu() {
        Device cuda = cudaOrSkip();
        List<String> prompts = List.of("a tower", "a tower in snow");
        try (StableDiffusion gpu = FakeModels.load("tiny-sd15", new Placement(cuda, DType.F16));
             StableDiffusion cpu = FakeModels.load("tiny-sd15", new Placement(Device.CPU, DType.F16))) {
            StyleAlignedPipeline.Options o = StyleAlignedPipeline.Options.defaults();
            GenerationResult a = new StyleAlignedPipeline(gpu).generate(prompts, request(), o, StepListener.NONE);
            GenerationResult b = new StyleAlignedPipeline(cpu).generate(prompts, request(), o, StepListener.NONE);
            assertImagesAgree(a, b, prompts.size());
        }
    }

    /** Conditional Balance with a ControlNet on the targets (F16) on CUDA against the same run on the CPU. */
    @Test
    void conditionalBalanceWithControlNetOnCudaMatchesTheCpu() {
        Device cuda = cudaOrSkip();
        List<String> prompts = List.of("ref, watercolor", "a fox, watercolor");
        Placement onGpu = new Placement(cuda, DType.F16), onCpu = new Placement(Device.CPU, DType.F16);
        try (StableDiffusion gpu = FakeModels.load("tiny-sd15", onGpu); StableDiffusion cpu = FakeModels.load("tiny-sd15", onCpu);
             var gpuNet = FakeModels.controlNet("tiny-sd15", onGpu); var cpuNet = FakeModels.controlNet("tiny-sd15", onCpu)) {
            var o = new ConditionalBalancePipeline.Options(ControlNetPipelineTest.uniformRanking(cpu), 1.0, 0.5, 0.8);
            RgbImage control = ControlNetPipelineTest.stripes(40, 24);
            GenerationResult a = new ConditionalBalancePipeline(gpu).generate(prompts, request(), o, gpuNet, control, StepListener.NONE, null);
            GenerationResult b = new ConditionalBalancePipeline(cpu).generate(prompts, request(), o, cpuNet, control, StepListener.NONE, null);
            assertImagesAgree(a, b, prompts.size());
        }
    }

    /**
     * Self-Cross guidance on CUDA (attention maps, their loss and its gradient through the UNet by
     * the CUDA backward kernels) against the CPU: the first loss, before any update, agrees closely.
     */
    @Test
    void selfCrossGuidanceOnCudaMatchesTheCpu() {
        Device cuda = cudaOrSkip();
        GenerationRequest req = GenerationRequest.builder("a cat and a frog").steps(4).seed(7).size(64, 64).guidanceScale(7.5).build();
        SelfCrossOptions o = SelfCrossOptions.builder(SelfCrossOptions.Method.SELF_CROSS).subjects(List.of("cat", "frog"))
                .initno(1, 2, 0).maxRefinement(2).build();
        try (StableDiffusion gpu = FakeModels.load("tiny-sd15", new Placement(cuda, DType.F32));
             StableDiffusion cpu = FakeModels.load("tiny-sd15", Device.CPU)) {
            List<GuidanceEvent> onGpu = new ArrayList<>(), onCpu = new ArrayList<>();
            GenerationResult a = new SelfCrossPipeline(gpu).generate(req, o, new GuidanceListener() {
                @Override public void onGuidance(GuidanceEvent e) { onGpu.add(e); }
            });
            GenerationResult b = new SelfCrossPipeline(cpu).generate(req, o, new GuidanceListener() {
                @Override public void onGuidance(GuidanceEvent e) { onCpu.add(e); }
            });
            assertEquals(onCpu.size(), onGpu.size(), "the same guidance schedule ran");
            double l0 = onCpu.get(0).loss(), g0 = onGpu.get(0).loss();
            assertEquals(l0, g0, 1e-4 * Math.max(1, Math.abs(l0)), "first loss, CPU " + l0 + " vs CUDA " + g0);
            for (GuidanceEvent e : onGpu) assertTrue(Double.isFinite(e.loss()), e.toString());
            double mean = meanLevelDifference(a.images().get(0).rgb(), b.images().get(0).rgb());
            assertTrue(mean < 2, "mean |CUDA - CPU| = " + mean + " levels after guided sampling");
        }
    }

    /** The first n images of the CUDA run a and the CPU run b agree to half a level on average. */
    private static void assertImagesAgree(GenerationResult a, GenerationResult b, int n) {
        for (int i = 0; i < n; i++) {
            double mean = meanLevelDifference(a.images().get(i).rgb(), b.images().get(i).rgb());
            assertTrue(mean < 0.5, "image " + i + ": mean |CUDA - CPU| = " + mean + " levels");
        }
    }

    private static double meanLevelDifference(byte[] a, byte[] b) {
        assertEquals(a.length, b.length);
        double sum = 0;
        for (int i = 0; i < a.length; i++) sum += Math.abs((a[i] & 255) - (b[i] & 255));
        return sum / a.length;
    }

    /** The same request on CUDA (F32) and on the CPU: the pipelines agree to a fraction of a level. */
    @Test
    void cudaImagesMatchTheCpu() {
        Device cuda = cudaOrSkip();
        try (StableDiffusion gpu = FakeModels.load("tiny-sd15", new Placement(cuda, DType.F32));
             StableDiffusion cpu = FakeModels.load("tiny-sd15", Device.CPU)) {
            byte[] a = new StableDiffusionPipeline(gpu).generate(request(), StepListener.NONE).images().get(0).rgb();
            byte[] b = new StableDiffusionPipeline(cpu).generate(request(), StepListener.NONE).images().get(0).rgb();
            double mean = meanLevelDifference(a, b);
            assertTrue(mean < 0.5, "mean |CUDA - CPU| = " + mean + " levels");
        }
    }
}
