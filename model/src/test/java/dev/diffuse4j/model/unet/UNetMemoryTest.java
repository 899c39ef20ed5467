package dev.diffuse4j.model.unet;

import dev.diffuse4j.runtime.MemoryStats;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading, running and closing a model leaves no host memory behind, and a forward frees its intermediates. */
class UNetMemoryTest {
    @Test
    void forwardAndCloseReleaseEverything() {
        long before = MemoryStats.cpuBytesInUse();
        try (TinyUNet t = new TinyUNet("unet_tiny_sdxl")) {
            long loaded = MemoryStats.cpuBytesInUse();
            assertTrue(loaded > before, "the re-laid conv weights live in owned memory");
            try (Scope s = Scope.open()) {
                UNetInput in = t.input();
                long inputs = MemoryStats.cpuBytesInUse();
                Tensor eps = t.unet.forward(in);
                assertEquals(inputs + eps.byteSize(), MemoryStats.cpuBytesInUse(), "only the output outlives the forward");
            }
            assertEquals(loaded, MemoryStats.cpuBytesInUse());
        }
        assertEquals(before, MemoryStats.cpuBytesInUse(), "closing the model frees its weights");
    }
}
