package dev.diffuse4j.model.unet;

import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Timesteps given as a tensor (what a captured CUDA graph reads) are the timesteps given as numbers. */
class TimestepValuesTest {
    @Test
    void aTimestepTensorGivesTheSamePrediction() {
        try (TinyUNet tiny = new TinyUNet("unet_tiny_sdxl"); Scope s = Scope.open()) {
            UNetInput in = tiny.input();
            int batch = in.sample().dim(0);
            float[] perItem = new float[batch];
            for (int b = 0; b < batch; b++) perItem[b] = in.timestep(b);
            Tensor want = tiny.unet.forward(in);
            Tensor got = tiny.unet.forward(in.withTimestepValues(Tensor.of(perItem, batch)));
            assertArrayEquals(want.toFloatArray(), got.toFloatArray(), 0f);
            assertThrows(IllegalArgumentException.class, () -> tiny.unet.forward(in.withTimestepValues(Tensor.of(new float[batch + 1], batch + 1))));
        }
    }
}
