package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.goldens.Comparison;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UNetConditioningTest {
    @Test
    void sdxlTextTimeFormsTheGoldensY() {
        try (TinyUNet t = new TinyUNet("unet_tiny_sdxl"); Scope s = Scope.open()) {
            Tensor y = t.unet.addedConditioning(t.tensor("input.pooled"), t.tensor("input.size_conds"));
            // float32 sinusoids of ids up to ~1000: a few ulps of the argument apart from the reference's
            Comparison c = Comparison.of("y", y.toFloatArray(), t.tensor("input.y").toFloatArray(), 1e-5, 1e-6);
            assertTrue(c.pass(), c.toString());
            UNetInput in = t.input();
            float[] viaY = t.unet.forward(in).toFloatArray();
            float[] viaIds = t.unet.forward(in.withTextTime(t.tensor("input.pooled"), t.tensor("input.size_conds"))).toFloatArray();
            // the two y vectors differ by those ulps only; a wrong id order or width would be off by O(1)
            Comparison same = Comparison.of("eps", viaIds, viaY, 1e-5, 1e-5);
            assertTrue(same.pass(), same.toString());
        }
    }

    @Test
    void aSingleTimestepIsBroadcast() {
        try (TinyUNet t = new TinyUNet("unet_tiny_sd15"); Scope s = Scope.open()) {
            UNetInput in = t.input();
            float t0 = in.timestep(0);
            float[] one = t.unet.forward(UNetInput.of(in.sample(), t0, in.context())).toFloatArray();
            float[] both = t.unet.forward(UNetInput.of(in.sample(), new float[]{t0, t0}, in.context())).toFloatArray();
            assertArrayEquals(both, one);
        }
    }

    @Test
    void controlNetResidualsAreAddedToSkipsAndMid() {
        try (TinyUNet t = new TinyUNet("unet_tiny_sd15"); Scope s = Scope.open()) {
            UNetInput in = t.input();
            // the tiny SD1.5 UNet's skips: conv_in, two 32-channel layers, the downsample, two 64-channel layers
            List<int[]> shapes = List.of(new int[]{2, 16, 16, 32}, new int[]{2, 16, 16, 32}, new int[]{2, 16, 16, 32},
                    new int[]{2, 8, 8, 32}, new int[]{2, 8, 8, 64}, new int[]{2, 8, 8, 64});
            List<Tensor> zeros = new ArrayList<>();
            for (int[] sh : shapes) zeros.add(Tensor.zeros(sh));
            Tensor mid = Tensor.zeros(shapes.getLast());
            float[] plain = t.unet.forward(in).toFloatArray();
            assertArrayEquals(plain, t.unet.forward(in.withControl(zeros, mid)).toFloatArray());
            Tensor ones = Ops.affine(mid, 0f, 1f);
            assertFalse(Arrays.equals(plain, t.unet.forward(in.withControl(zeros, ones)).toFloatArray()));
            List<Tensor> shifted = new ArrayList<>(zeros);
            shifted.set(0, Ops.affine(zeros.getFirst(), 0f, 1f));
            assertFalse(Arrays.equals(plain, t.unet.forward(in.withControl(shifted, mid)).toFloatArray()));
            assertThrows(IllegalArgumentException.class, () -> t.unet.forward(in.withControl(zeros.subList(0, 5), mid)));
        }
    }
}
