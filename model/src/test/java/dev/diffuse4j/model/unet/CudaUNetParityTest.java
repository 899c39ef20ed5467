package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cuda.CudaBackend;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.weights.DeterministicWeights;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole-UNet parity, CUDA against the CPU's F32 forward on the same checkpoint (DESIGN §6): the tiny
 * golden UNet and the full-size SD1.5 UNet (deterministic weights, 64x64 latents, batch 2 as in a
 * CFG step; 16x16 latents under the host emulator, so CI runs every real layer width and head size), with CUDA
 * activations in F32, F16 and BF16. The bounds are relative L2 errors of the
 * prediction: F32 differs only in summation order; F16/BF16 add one rounding per op and the
 * weights' rounding (on the CPU, F16 activations alone give 1.3e-3 on the tiny UNet:
 * {@link HalfPrecisionUNetTest}). Skipped, with the reason, where there is no CUDA device.
 */
class CudaUNetParityTest {
    static Device cudaOrSkip() {
        String why = CudaBackend.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "skipped: no CUDA device (" + why + ")");
        return Device.cuda();
    }

    @ParameterizedTest
    @CsvSource({"F32, 1e-4", "F16, 5e-3", "BF16, 3e-2"})
    void tinyUNetOnCudaMatchesTheCpu(DType activations, double bound) {
        Device cuda = cudaOrSkip();
        try (TinyUNet tiny = new TinyUNet("unet_tiny_sd15");
             UNet2DConditionModel gpu = UNetLoader.fromSingleFile(tiny.unet.config(), tiny.weights, new Placement(cuda, activations));
             Scope s = Scope.open()) {
            UNetInput in = tiny.input();
            Tensor want = tiny.unet.forward(in);
            UNetInput onGpu = UNetInput.of(Ops.to(in.sample(), cuda), in.timesteps(), Ops.to(in.context(), cuda));
            compare(want, gpu.forward(onGpu), bound, "tiny SD1.5 UNet, CUDA " + activations);
        }
    }

    /** The shared CUDA backend when it can run the opt-in Hopper kernels (wgmma GEMM and conv), else skipped with the reason. */
    static CudaBackend hopperOrSkip() {
        cudaOrSkip();
        CudaBackend be = CudaBackend.get();
        String why = be.wgmmaUnavailableReason();
        Assumptions.assumeTrue(why == null, () -> "skipped: " + why);
        return be;
    }

    /**
     * The tiny UNet through the opt-in Hopper kernels (-Dd4j.cuda.gemm=wgmma): its linears and its
     * convs with Cin % 64 == 0 take the TMA + wgmma GEMM and conv, the others the mma.sync kernels.
     * Runs on an sm_90 GPU and, in CI, on the host emulator opened as sm_90 (the model module's
     * cuda-emulated-hopper execution).
     */
    @ParameterizedTest
    @CsvSource({"F16, 5e-3", "BF16, 3e-2"})
    void tinyUNetThroughTheHopperKernelsMatchesTheCpu(DType activations, double bound) {
        CudaBackend be = hopperOrSkip();
        be.useWgmmaGemm(true);
        try (TinyUNet tiny = new TinyUNet("unet_tiny_sd15");
             UNet2DConditionModel gpu = UNetLoader.fromSingleFile(tiny.unet.config(), tiny.weights, new Placement(Device.cuda(), activations));
             Scope s = Scope.open()) {
            UNetInput in = tiny.input();
            Tensor want = tiny.unet.forward(in);
            long before = CudaBackend.wgmmaLaunches();
            Tensor got = gpu.forward(UNetInput.of(Ops.to(in.sample(), Device.cuda()), in.timesteps(), Ops.to(in.context(), Device.cuda())));
            long launches = CudaBackend.wgmmaLaunches() - before;
            assertTrue(launches > 0, "the forward launched no wgmma kernel");
            compare(want, got, bound, "tiny SD1.5 UNet, CUDA " + activations + " via wgmma (" + launches + " launches)");
        } finally {
            be.useWgmmaGemm(false);
        }
    }

    /** The full SD1.5 UNet step (512 px, batch 2) through the opt-in Hopper kernels, on an sm_90 GPU. */
    @ParameterizedTest
    @CsvSource({"F16, 1e-2"})
    void fullSd15UNetThroughTheHopperKernelsMatchesTheCpu(DType activations, double bound) {
        CudaBackend be = hopperOrSkip();
        Assumptions.assumeTrue(!be.emulated(), "skipped under the host emulator: too slow through the emulated wgmma kernels; the tiny UNet covers them there");
        be.useWgmmaGemm(true);
        try {
            fullSd15(activations, bound, 64, " via wgmma");
        } finally {
            be.useWgmmaGemm(false);
        }
    }

    @ParameterizedTest
    @CsvSource({"F16, 1e-2", "BF16, 5e-2"})
    void fullSd15UNetOnCudaMatchesTheCpu(DType activations, double bound) {
        Device cuda = cudaOrSkip();
        boolean emulated = CudaBackend.get().emulated();
        Assumptions.assumeTrue(!emulated || activations == DType.F16,
                "skipped under the host emulator: a full forward takes ~5 minutes there, so only F16 runs (BF16 differs in conversions, which the tiny UNet covers)");
        // The emulator runs a 128 px image: every layer and kernel of the 512 px step at 1/16 of the pixels.
        fullSd15(activations, bound, emulated ? 16 : 64, emulated ? " (emulated)" : "");
    }

    /** The SD1.5 UNet (deterministic weights) at batch 2 and latent x latent, CUDA activations vs the CPU's F32. */
    private static void fullSd15(DType activations, double bound, int latent, String note) {
        Device cuda = Device.cuda();
        UNetConfig c = UNetConfig.SD15;
        try (DeterministicWeights w = new DeterministicWeights(LdmUNetMapping.checkpointTensors(c, LdmUNetMapping.PREFIX));
             UNet2DConditionModel cpu = UNetLoader.fromSingleFile(c, w, Device.CPU);
             UNet2DConditionModel gpu = UNetLoader.fromSingleFile(c, w, new Placement(cuda, activations));
             Scope s = Scope.open()) {
            Random r = new Random(7);
            Tensor sample = randn(r, 2, latent, latent, 4), context = randn(r, 2, 77, c.crossAttentionDim());
            Tensor want = cpu.forward(UNetInput.of(sample, 500f, context));
            Tensor got = gpu.forward(UNetInput.of(Ops.to(sample, cuda), 500f, Ops.to(context, cuda)));
            compare(want, got, bound, "SD1.5 UNet " + 8 * latent + "px batch 2, CUDA " + activations + note);
        }
    }

    private static Tensor randn(Random r, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }

    private static void compare(Tensor want, Tensor got, double bound, String what) {
        assertEquals(DType.F32, got.dtype(), what + ": the prediction is F32");
        float[] g;
        try (Tensor host = Ops.to(got, Device.CPU)) {
            g = host.toFloatArray();
        }
        double err = HalfPrecisionUNetTest.relL2(want.toFloatArray(), g);
        System.out.printf("[parity] %s: rel L2 %.2e (bound %.0e)%n", what, err, bound);
        assertTrue(err < bound, what + ": rel L2 " + err + " >= " + bound);
    }
}
