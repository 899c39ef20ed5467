package dev.diffuse4j.pipelines;

import dev.diffuse4j.attention.guidance.AttendExciteObjective;
import dev.diffuse4j.attention.guidance.Evaluation;
import dev.diffuse4j.attention.guidance.GuidanceObjective;
import dev.diffuse4j.attention.guidance.InitnoObjective;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.schedulers.noise.PhiloxGaussian;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** dLoss/dLatent through the whole taped UNet pass vs central differences of the loss, on the tiny fake SD1.5. */
class GuidedForwardTest {
    static StableDiffusion sd;

    @BeforeAll
    static void load() { sd = FakeModels.load("tiny-sd15", Device.CPU); }

    @AfterAll
    static void close() { sd.close(); }

    @Test
    void latentGradientMatchesDirectionalDifferences() {
        int h = 16, w = 16, c = 4;
        int[] subjects = {5, 16};
        float[] z = Latents.gaussianNhwc(PhiloxGaussian.seeded(3), 1, c, h, w);
        SelfCrossPipeline p = new SelfCrossPipeline(sd);
        var layers = p.guidanceLayers(128, 128, h, w);
        try (Scope s = Scope.open()) {
            Tensor context = sd.prompts().encode(List.of("a cat and a frog")).context();
            record Case(GuidanceObjective objective, float divisor) {}
            // divisor 2.5: an Euler-style model-input scaling, differentiated on the tape
            for (Case k : List.of(new Case(new AttendExciteObjective(), 1f), new Case(new InitnoObjective(4), 1f),
                    new Case(new LinearInMaps(), 1f), new Case(new LinearInMaps(), 2.5f))) {
                GuidanceObjective objective = k.objective();
                float divisor = k.divisor();
                StepContext step = StepContext.of(0, 10, 901);
                Evaluation e;
                float[] g;
                try (GuidedForward f = new GuidedForward(sd.unet(), z, h, w, c, divisor, step, context, layers, objective, subjects)) {
                    e = f.evaluation();
                    g = f.gradient(e.update().gradient());
                }
                Random r = new Random(5);
                double[] d = new double[z.length];
                for (int i = 0; i < d.length; i++) d[i] = r.nextGaussian();
                double eps = 1e-2;
                double plus = loss(objective, divisor, axpy(z, eps, d), h, w, c, step, context, layers, subjects);
                double minus = loss(objective, divisor, axpy(z, -eps, d), h, w, c, step, context, layers, subjects);
                double fd = (plus - minus) / (2 * eps), an = 0;
                for (int i = 0; i < d.length; i++) an += g[i] * d[i];
                System.out.printf("%s (input / %s): loss %.6f response %.4f selfCross %.4f | fd %.6g analytic %.6g%n", objective.getClass().getSimpleName(), divisor,
                        e.update().value(), e.response(), e.selfCross(), fd, an);
                assertNotEquals(0, an, objective + ": non-zero gradient");
                assertEquals(fd, an, 0.05 * Math.abs(fd), objective + ": directional derivative");
            }
        }
    }

    @Test
    void stoppingAfterTheLastGuidanceLayerGivesTheFullForwardsMaps() {
        int h = 16, w = 16, c = 4;
        float[] z = Latents.gaussianNhwc(PhiloxGaussian.seeded(7), 1, c, h, w);
        var layers = new SelfCrossPipeline(sd).guidanceLayers(128, 128, h, w);
        var all = sd.unet().processors().layers();
        int upBlocks = GuidedForward.upBlocksReaching(all, layers);
        assertTrue(upBlocks < sd.unet().config().levels(), "the guidance layers leave up blocks to skip (" + upBlocks + ")");
        StepContext step = StepContext.of(0, 10, 901);
        try (Scope s = Scope.open()) {
            Tensor context = sd.prompts().encode(List.of("a cat and a frog")).context();
            double truncated = loss(new InitnoObjective(4), 1f, z, h, w, c, step, context, layers, new int[]{5, 16});
            try (var capture = new dev.diffuse4j.attention.guidance.GuidanceCapture()) {
                sd.unet().processors().install(layers, capture);
                try {
                    sd.unet().forward(dev.diffuse4j.model.unet.UNetInput.of(Tensor.of(z, 1, h, w, c), 901f, context).withStep(step));
                } finally {
                    sd.unet().processors().reset();
                }
                double full = new InitnoObjective(4).evaluate(capture.maps(), new int[]{5, 16}).update().value();
                assertEquals(full, truncated, "the loss reads only layers before the skipped up blocks: the same value, bit for bit");
            }
        }
    }

    /** A loss linear in both maps with fixed random weights: exercises the self-map seeds, which the tiny model's gate keeps at 0. */
    static final class LinearInMaps implements GuidanceObjective {
        @Override
        public Evaluation evaluate(dev.diffuse4j.attention.guidance.GuidanceMaps maps, int[] subjects) {
            Random r = new Random(11);
            double[] a = r.doubles(maps.cross().length, -1, 1).toArray(), b = r.doubles(maps.self().length, -1, 1).toArray();
            double v = 0;
            for (int i = 0; i < a.length; i++) v += a[i] * maps.cross()[i];
            for (int i = 0; i < b.length; i++) v += b[i] * maps.self()[i];
            var loss = new Evaluation.Loss(v, new dev.diffuse4j.attention.guidance.MapGradient(a, b));
            return new Evaluation(v, 0, 0, 0, loss, loss);
        }
    }

    static double loss(GuidanceObjective o, float divisor, float[] z, int h, int w, int c, StepContext step, Tensor context,
                       java.util.function.Predicate<dev.diffuse4j.model.attention.LayerInfo> layers, int[] subjects) {
        try (GuidedForward f = new GuidedForward(sd.unet(), z, h, w, c, divisor, step, context, layers, o, subjects)) {
            return f.evaluation().update().value();
        }
    }

    static float[] axpy(float[] z, double a, double[] d) {
        float[] out = new float[z.length];
        for (int i = 0; i < z.length; i++) out[i] = (float) (z[i] + a * d[i]);
        return out;
    }
}
