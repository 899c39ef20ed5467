package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.goldens.Comparison;
import dev.diffuse4j.model.controlnet.ControlNetModel;
import dev.diffuse4j.model.controlnet.ControlNetOutput;
import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.model.vae.AutoencoderKL;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Which precision each network of a half-precision bundle runs in, the VAE's F32 retry on overflow,
 * and the ControlNet in F16: what the GPU does, checked on the CPU (same storage rounding).
 */
class HalfPrecisionModelsTest {
    private static final Placement F16 = new Placement(Device.CPU, DType.F16);

    static Tensor randn(long seed, float scale, int... shape) {
        Random r = new Random(seed);
        int n = 1;
        for (int d : shape) n *= d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * scale);
        return Tensor.of(v, shape);
    }

    @Test
    void sdxlKeepsItsForceUpcastVaeInF32AndSd15RunsItsVaeInF16() {
        try (StableDiffusion xl = FakeModels.load("tiny-sdxl", F16); StableDiffusion sd = FakeModels.load("tiny-sd15", F16)) {
            assertEquals(DType.F16, xl.unet().activations());
            assertTrue(xl.vae().config().forceUpcast());
            assertEquals(DType.F32, xl.vae().activations(), "diffusers' SDXL pipeline upcasts a force_upcast VAE");
            assertEquals(DType.F16, sd.vae().activations(), "diffusers' SD pipeline runs its VAE in F16 whatever the flag says");
            assertEquals(F16, sd.placement());
        }
    }

    @Test
    void aVaeDecodeThatOverflowsInF16IsRedoneInF32() {
        try (StableDiffusion sd = FakeModels.load("tiny-sd15", F16); Scope s = Scope.open()) {
            AutoencoderKL vae = sd.vae();
            Tensor calm = randn(1, 1f, 1, 4, 4, 4);
            Tensor f16 = vae.decode(calm);
            assertEquals(DType.F32, f16.dtype());
            assertEquals(0, vae.upcasts(), "ordinary latents decode in F16");
            // 1e6: conv_in's outputs pass F16's 65504 (GroupNorm then makes NaN); F32 normalises them away.
            Tensor loud = Ops.scale(calm, 1e6f);
            Tensor retried = vae.decode(loud);
            assertEquals(1, vae.upcasts(), "the overflow was seen and the decode redone");
            assertEquals(0, AutoencoderKL.nonFinite(retried));
            Tensor f32 = vae.activations(DType.F32).decode(loud);
            assertArrayEquals(f32.toFloatArray(), retried.toFloatArray(), 0f, "the retry is the F32 decode, bit for bit");
            Tensor calmF32 = vae.decode(calm);
            assertEquals(1, vae.upcasts(), "F32 passes are never retried");
            double err = relL2(calmF32.toFloatArray(), f16.toFloatArray());
            assertTrue(err > 0 && err < 5e-3, "F16 decode within F16 rounding of the F32 one: rel L2 " + err);
        }
    }

    @Test
    void controlNetRunsInF16AndItsResidualsSteerTheUNetLikeF32() {
        try (StableDiffusion sd = FakeModels.load("tiny-sd15", F16); ControlNetModel cn = FakeModels.controlNet("tiny-sd15", F16); Scope s = Scope.open()) {
            assertEquals(DType.F16, cn.activations());
            Tensor sample = randn(2, 1f, 2, 8, 8, 4), context = randn(3, 1f, 2, 77, sd.unet().config().crossAttentionDim());
            Tensor image = Ops.affine(randn(4, 0.3f, 1, 64, 64, 3), 1f, 0.5f);
            UNetInput in = UNetInput.of(sample, 501f, context);
            ControlNetOutput half = cn.forward(in, image, 0.8f);
            for (Tensor r : half.down()) assertEquals(DType.F16, r.dtype());
            assertEquals(DType.F16, half.mid().dtype());
            Tensor got = sd.unet().forward(in.withControl(half.down(), half.mid()));

            cn.activations(DType.F32);
            sd.unet().activations(DType.F32);
            ControlNetOutput full = cn.forward(in, image, 0.8f);
            assertEquals(DType.F32, full.mid().dtype());
            Tensor ref = sd.unet().forward(in.withControl(full.down(), full.mid()));
            double err = relL2(ref.toFloatArray(), got.toFloatArray());
            assertTrue(err > 0 && err < 5e-3, "rel L2 " + err);
        }
    }

    /** ||got - ref|| / ||ref||. */
    static double relL2(float[] ref, float[] got) { return Comparison.of("prediction", got, ref, 0, 0).relL2(); }
}
