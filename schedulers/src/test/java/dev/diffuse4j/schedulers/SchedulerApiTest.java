package dev.diffuse4j.schedulers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.schedulers.noise.PhiloxGaussian;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The pipeline-facing contract: tensors and layouts, step order, state, errors. */
class SchedulerApiTest {
    private static final SchedulerConfig SD = SchedulerConfig.stableDiffusion15();

    private static List<Scheduler> all() {
        return List.of(new DdimScheduler(SD), new DdimInverseScheduler(SD), new EulerDiscreteScheduler(SD),
                new DpmSolverMultistepScheduler(SD));
    }

    @Test
    void tensorStepEqualsArrayStepAndIsLayoutAgnostic() {
        int b = 2, c = 4, h = 3, w = 5, n = b * c * h * w;
        float[] x = PhiloxGaussian.seeded(1).next(n), e = PhiloxGaussian.seeded(2).next(n);
        for (Scheduler s : all()) {
            s.setTimesteps(10);
            float[] ref = s.step(e, 0, x, PhiloxGaussian.seeded(3));
            s.reset();
            try (Tensor xt = Tensor.of(x, b, c, h, w); Tensor et = Tensor.of(e, b, c, h, w);
                 Tensor out = s.step(et, 0, xt, PhiloxGaussian.seeded(3))) {
                assertArrayEquals(ref, out.toFloatArray(), s.getClass().getSimpleName());
                assertArrayEquals(new int[]{b, c, h, w}, out.shape());
                assertEquals(DType.F32, out.dtype());
            }
            s.reset();
            // NHWC views of the same data step to the NHWC view of the result (the update is elementwise)
            try (Tensor xt = Tensor.of(x, b, c, h, w); Tensor et = Tensor.of(e, b, c, h, w);
                 Tensor xn = xt.permute(0, 2, 3, 1); Tensor en = et.permute(0, 2, 3, 1);
                 Tensor out = s.step(en, 0, xn, PhiloxGaussian.seeded(3));
                 Tensor refT = Tensor.of(ref, b, c, h, w); Tensor refN = refT.permute(0, 2, 3, 1)) {
                assertArrayEquals(refN.toFloatArray(), out.toFloatArray(), s.getClass().getSimpleName() + " NHWC");
            }
        }
    }

    @Test
    void stochasticDdimTensorStepMatchesTheArrayStep() {
        DdimScheduler s = new DdimScheduler(SD, 0.5f);
        s.setTimesteps(10);
        float[] x = PhiloxGaussian.seeded(7).next(48), e = PhiloxGaussian.seeded(8).next(48);
        try (Tensor xt = Tensor.of(x, 1, 4, 3, 4); Tensor et = Tensor.of(e, 1, 4, 3, 4);
             Tensor out = s.step(et, 2, xt, PhiloxGaussian.seeded(9))) {
            assertArrayEquals(s.step(e, 2, x, PhiloxGaussian.seeded(9)), out.toFloatArray());
        }
    }

    @Test
    void ddimTakesExplicitVarianceNoiseLikeDiffusers() {
        DdimScheduler s = new DdimScheduler(SD, 1f);
        s.setTimesteps(10);
        float[] x = PhiloxGaussian.seeded(10).next(32), e = PhiloxGaussian.seeded(11).next(32);
        float[] z = PhiloxGaussian.seeded(12).next(32);
        assertArrayEquals(s.step(e, 4, x, PhiloxGaussian.seeded(12)), s.stepWithNoise(e, 4, x, z));
        assertThrows(IllegalArgumentException.class, () -> s.stepWithNoise(e, 4, x, new float[31]));
        DdimScheduler deterministic = new DdimScheduler(SD);
        deterministic.setTimesteps(10);
        assertArrayEquals(deterministic.step(e, 4, x, null), deterministic.stepWithNoise(e, 4, x, z), "eta 0 ignores the noise");
    }

    @Test
    void acceptsHalfPrecisionTensorsAndReturnsF32() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(SD);
        s.setTimesteps(5);
        float[] x = PhiloxGaussian.seeded(4).next(16);
        try (Tensor half = Tensor.zeros(DType.F16, 16)) {
            for (int i = 0; i < 16; i++) half.setFloat(i, x[i]);
            try (Tensor scaled = s.scaleModelInput(half, 0)) {
                assertEquals(DType.F32, scaled.dtype());
                for (int i = 0; i < 16; i++) assertEquals(half.getFloat(i) / s.modelInputDivisor(0), scaled.getFloat(i));
            }
        }
    }

    @Test
    void shapeAndStateErrorsAreClear() {
        DdimScheduler s = new DdimScheduler(SD);
        IllegalStateException early = assertThrows(IllegalStateException.class, () -> s.step(new float[4], 0, new float[4], null));
        assertTrue(early.getMessage().contains("setTimesteps"), early.getMessage());
        s.setTimesteps(10);
        assertThrows(IndexOutOfBoundsException.class, () -> s.step(new float[4], 10, new float[4], null));
        assertThrows(IllegalArgumentException.class, () -> s.step(new float[4], 0, new float[5], null));
        try (Tensor a = Tensor.zeros(1, 4, 2, 2); Tensor b = Tensor.zeros(1, 2, 2, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.step(a, 0, b, null));
            assertTrue(e.getMessage().contains("[1, 4, 2, 2]") && e.getMessage().contains("[1, 2, 2, 4]"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new DdimScheduler(SD, -1f));
        assertThrows(IllegalStateException.class, () -> new EulerDiscreteScheduler(SD).initNoiseSigma());
    }

    @Test
    void dpmSolverHistoryRequiresOrderedStepsAndResets() {
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(SD);
        s.setTimesteps(10);
        float[] x = PhiloxGaussian.seeded(5).next(64), e = PhiloxGaussian.seeded(6).next(64);
        float[] first = s.step(e, 0, x, null);
        float[] second = s.step(e, 1, first, null);
        IllegalStateException skip = assertThrows(IllegalStateException.class, () -> s.step(e, 3, second, null));
        assertTrue(skip.getMessage().contains("reset"), skip.getMessage());
        s.reset();
        assertArrayEquals(first, s.step(e, 0, x, null), "after reset the pass starts over");
        s.setTimesteps(10);
        float[] midway = s.step(e, 4, x, null); // img2img: any first step, first order
        s.setTimesteps(10);
        assertArrayEquals(midway, s.step(e, 4, x, null), "setTimesteps clears the history");
        assertNotEquals(second[0], s.step(e, 5, midway, null)[0], 0f);
    }

    @Test
    void samplersByName() {
        assertInstanceOf(DdimScheduler.class, Samplers.create("ddim", SD));
        assertInstanceOf(DdimScheduler.class, Samplers.create("DDIMScheduler", SD));
        assertInstanceOf(DdimInverseScheduler.class, Samplers.create("ddim_inverse", SD));
        assertInstanceOf(EulerDiscreteScheduler.class, Samplers.create("Euler", SD));
        assertInstanceOf(DpmSolverMultistepScheduler.class, Samplers.create("dpm++2m", SD));
        assertTrue(Samplers.create("dpm++2m-karras", SD).config().useKarrasSigmas());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Samplers.create("lms", SD));
        assertTrue(e.getMessage().contains("lms") && e.getMessage().contains("ddim"), e.getMessage());
    }

    @Test
    void timestepsAndSigmasAreCopies() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(SD);
        s.setTimesteps(4);
        s.timesteps()[0] = -1;
        s.sigmas()[0] = -1;
        assertEquals(999f, s.timestep(0));
        assertTrue(s.sigmas()[0] > 14);
    }
}
