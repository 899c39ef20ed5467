package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.goldens.Comparison;
import dev.diffuse4j.model.goldens.SharedGoldens;
import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The UNet with F16/BF16 activations (what the GPU runs): every sub-module's output stays in the
 * half type (one F32 operand anywhere would promote everything after it, and on the GPU send the
 * GEMMs to the F32 path), the prediction comes back F32, and it stays within the rounding error the
 * type allows of the F32 forward on the same weights.
 */
class HalfPrecisionUNetTest {
    @ParameterizedTest
    @CsvSource({"unet_tiny_sd15, F16, 2e-3", "unet_tiny_sd15, BF16, 2e-2", "unet_tiny_sdxl, F16, 2e-3", "unet_tiny_sdxl, BF16, 2e-2"})
    void halfActivationsStayHalfAndCloseToF32(String name, DType half, double bound) {
        try (TinyUNet tiny = new TinyUNet(name);
             UNet2DConditionModel unet = UNetLoader.fromSingleFile(tiny.unet.config(), tiny.weights, new Placement(Device.CPU, half));
             Scope s = Scope.open()) {
            assertEquals(half, unet.activations());
            List<String> notHalf = new ArrayList<>();
            int[] seen = {0};
            UNetInput in = tiny.input();
            Tensor got = unet.forward(in.withObserver((module, v) -> {
                seen[0]++;
                if (v.dtype() != half) notHalf.add(module + " " + v.describe());
            }));
            assertTrue(seen[0] > 10, "the observer saw the modules");
            assertTrue(notHalf.isEmpty(), "sub-modules that left " + half + ": " + notHalf);
            assertEquals(DType.F32, got.dtype(), "the prediction is F32 for the scheduler");

            // Reference: the same half-rounded weights, F32 activations.
            Tensor ref = unet.activations(DType.F32).forward(in);
            double err = relL2(ref.toFloatArray(), got.toFloatArray());
            System.out.printf("%s %s activations: rel L2 %.2e vs F32 activations%n", name, half, err);
            assertTrue(err > 0 && err < bound, name + " " + half + ": rel L2 " + err + " (bound " + bound + ")");
        }
    }

    /** ||got - ref|| / ||ref||. */
    static double relL2(float[] ref, float[] got) { return Comparison.of("prediction", got, ref, 0, 0).relL2(); }

    @org.junit.jupiter.api.Test
    void f32PlacementKeepsCheckpointWeightsAsTheyAreOnTheCpu() {
        Placement cpu = Placement.of(Device.CPU);
        assertEquals(DType.F16, cpu.weightType(DType.F16), "CPU widens F16 weights as it reads them");
        assertEquals(DType.F32, cpu.weightType(DType.F32));
        assertEquals(DType.F16, new Placement(Device.CPU, DType.F16).weightType(DType.F32));
        assertEquals(DType.I64, new Placement(Device.CPU, DType.F16).weightType(DType.I64), "integer buffers are not converted");
        assertEquals(DType.F16, Placement.auto(Device.cuda(0)).activations());
        assertEquals(DType.F32, Placement.auto(Device.CPU).activations());
        assertEquals(DType.F32, Placement.of(Device.cuda(0)).weightType(DType.F16), "the GPU converts once at load, not per call");
        SharedGoldens.file("unet_tiny_sd15.safetensors"); // the goldens are present for the test above
    }
}
