package dev.diffuse4j.pipelines;

import dev.diffuse4j.attention.LayerRanking;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.controlnet.ControlNetModel;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.pipelines.image.RgbImage;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.schedulers.Samplers;
import dev.diffuse4j.schedulers.Scheduler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** ControlNet in the sampling loop on the tiny fake SD1.5 model and its fake ControlNet. */
class ControlNetPipelineTest {
    static StableDiffusion sd;
    static ControlNetModel cn;

    @BeforeAll
    static void load() {
        sd = FakeModels.load("tiny-sd15", Device.CPU);
        cn = FakeModels.controlNet("tiny-sd15", Device.CPU);
    }

    @AfterAll
    static void close() {
        cn.close();
        sd.close();
    }

    static RgbImage stripes(int w, int h) {
        byte[] px = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) Arrays.fill(px, (y * w + x) * 3, (y * w + x) * 3 + 3, (byte) ((x / 4) % 2 == 0 ? 255 : 0));
        return new RgbImage(w, h, px);
    }

    static GenerationRequest request(int steps) {
        return GenerationRequest.builder("a fox").steps(steps).seed(11).size(64, 64).build();
    }

    /** Every self-attention layer of the UNet, all scored equally, at one timestep. */
    static LayerRanking uniformRanking(StableDiffusion model) {
        List<String> names = new ArrayList<>();
        for (LayerInfo l : model.unet().layers()) if (l.isSelf()) names.add(l.name());
        double[] s = new double[names.size()];
        return new LayerRanking(names, Map.of(500, new LayerRanking.Scores(s, s, null)));
    }

    record Call(int step, double t, Control.Level level, int rows) {}

    @Test
    void conditionalBalanceKeepsDownResidualsExactlyAtTheStepsAboveLambdaT() {
        int steps = 6;
        double lambdaT = 0.5;
        List<Call> calls = new ArrayList<>();
        var o = new ConditionalBalancePipeline.Options(uniformRanking(sd), 1.0, lambdaT, 0.8);
        List<String> prompts = List.of("ref, watercolor", "a fox, watercolor", "a cat, watercolor");
        new ConditionalBalancePipeline(sd).generate(prompts, request(steps), o, cn, stripes(40, 24), StepListener.NONE,
                (step, t, level, rows) -> calls.add(new Call(step, t, level, rows)));

        Scheduler s = Samplers.create("ddim", sd.scheduler());
        s.setTimesteps(steps);
        assertEquals(steps, calls.size(), "one ControlNet decision per step");
        int full = 0;
        for (int i = 0; i < steps; i++) {
            double t = s.timestep(i);
            Control.Level want = t >= 500 ? Control.Level.FULL : Control.Level.MID_ONLY;
            assertEquals(new Call(i, t, want, 4), calls.get(i), "step " + i + ": 2 targets x 2 guidance halves, reference rows excluded");
            if (want == Control.Level.FULL) full++;
        }
        assertTrue(full > 0 && full < steps, "the schedule splits the steps: " + calls);
    }

    @Test
    void referenceRowsGetZerosSoTheReferenceImageIsUntouched() {
        var sa = new StyleAlignedPipeline(sd);
        List<String> prompts = List.of("ref", "a fox");
        var o = StyleAlignedPipeline.Options.defaults();
        GenerationResult plain = sa.generate(prompts, request(3), o, StepListener.NONE);
        Control c = Control.of(cn, stripes(64, 64), 1.0).withRows(Control.Rows.TARGETS);
        GenerationResult steered = sa.generate(prompts, request(3), o, StepListener.NONE, c);
        assertArrayEquals(plain.images().get(0).rgb(), steered.images().get(0).rgb(), "reference image");
        assertFalse(Arrays.equals(plain.images().get(1).rgb(), steered.images().get(1).rgb()), "the target follows the ControlNet");
        assertTrue(steered.parameters(1).contains("ControlNet: scale 1.0"), steered.parameters(1));
    }

    @Test
    void runningSelectedRowsEqualsTheFullBatchRunRowByRow() {
        try (Scope scope = Scope.open()) {
            int items = 3, batch = 2 * items;
            Random r = new Random(3);
            float[] x = new float[batch * 8 * 8 * 4], ctx = new float[batch * 77 * 32];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            for (int i = 0; i < ctx.length; i++) ctx[i] = (float) r.nextGaussian();
            UNetInput in = UNetInput.of(Tensor.of(x, batch, 8, 8, 4), 400f, Tensor.of(ctx, batch, 77, 32));
            Control all = Control.of(cn, stripes(64, 64), 0.7);
            UNetInput full = ControlStage.prepare(all, sd.unet().config(), 64, 64, Device.CPU).apply(in, 2, 5, 400, items, true);
            UNetInput part = ControlStage.prepare(all.withRows(Control.Rows.targetsCondOnlyFirst(10)), sd.unet().config(), 64, 64, Device.CPU)
                    .apply(in, 2, 5, 400, items, true);
            boolean[] chosen = {false, false, false, false, true, true}; // step 2 < 10: conditional targets only
            List<Tensor> a = new ArrayList<>(full.controlDown()), b = new ArrayList<>(part.controlDown());
            a.add(full.controlMid());
            b.add(part.controlMid());
            for (int k = 0; k < a.size(); k++) {
                float[] fa = a.get(k).toFloatArray(), fb = b.get(k).toFloatArray();
                int per = fa.length / batch;
                for (int row = 0; row < batch; row++) {
                    float[] ra = Arrays.copyOfRange(fa, row * per, (row + 1) * per), rb = Arrays.copyOfRange(fb, row * per, (row + 1) * per);
                    if (chosen[row]) assertArrayEquals(ra, rb, "residual " + k + " row " + row);
                    else assertArrayEquals(new float[per], rb, "residual " + k + " row " + row + " is zero");
                }
            }
        }
    }

    @Test
    void midOnlyStepsPassNoDownResiduals() {
        try (Scope scope = Scope.open()) {
            UNetInput in = UNetInput.of(Tensor.zeros(2, 8, 8, 4), 100f, Tensor.zeros(2, 77, 32));
            Control c = Control.of(cn, stripes(64, 64), 1).withSchedule(Control.Schedule.conditionalBalance(0.2));
            UNetInput low = ControlStage.prepare(c, sd.unet().config(), 64, 64, Device.CPU).apply(in, 4, 5, 100, 1, true);
            assertNull(low.controlDown(), "t=100 < 200: down residuals dropped");
            assertNotNull(low.controlMid(), "mid residual kept");
            UNetInput high = ControlStage.prepare(c, sd.unet().config(), 64, 64, Device.CPU).apply(in, 0, 5, 200, 1, true);
            assertEquals(cn.downResiduals(), high.controlDown().size(), "t=200 >= 200: all residuals");
        }
    }

    @Test
    void anSdxlControlNetIsRefusedForAnSd15Model() {
        try (ControlNetModel xl = FakeModels.controlNet("tiny-sdxl", Device.CPU)) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> new StableDiffusionPipeline(sd).generate(request(1), StepListener.NONE, LatentHook.NONE, Control.of(xl, stripes(8, 8), 1)));
            assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
        }
    }

    @Test
    void aRankingForAnotherModelIsRefused() {
        var ranking = new LayerRanking(List.of("down_blocks.1.attentions.0.transformer_blocks.9.attn1"),
                Map.of(1, new LayerRanking.Scores(new double[1], new double[1], null)));
        var e = assertThrows(IllegalArgumentException.class, () -> new ConditionalBalancePipeline(sd).generate(List.of("a", "b"), request(1),
                new ConditionalBalancePipeline.Options(ranking, 0.5, 0.8, 0.8), null, null, StepListener.NONE, null));
        assertTrue(e.getMessage().contains("another model"), e.getMessage());
    }
}
