package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Backend;
import dev.diffuse4j.runtime.ops.Backends;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Runs everywhere: on a machine without CUDA the backend refuses with a reason (every time, not
 * only the first), and the CPU keeps working; on a GPU machine it opens and round-trips data.
 */
class CudaAvailabilityTest {
    private static Backend openOrNull(StringBuilder reason) {
        try {
            return Backends.of(Device.cuda());
        } catch (CudaUnavailableException e) {
            reason.append(e.getMessage());
            return null;
        }
    }

    @Test
    void opensOrRefusesWithAReason() {
        StringBuilder first = new StringBuilder(), second = new StringBuilder();
        Backend a = openOrNull(first), b = openOrNull(second);
        if (a == null) {
            assertNull(b, "a refused backend must not open on the second try");
            assertTrue(first.toString().startsWith("CUDA backend unavailable: "), first.toString());
            assertTrue(first.length() > "CUDA backend unavailable: ".length() + 5, "the refusal must say why: " + first);
            assertEquals(first.toString(), second.toString(), "the second refusal gives the same reason (no NoClassDefFoundError)");
            assertEquals(first.toString(), "CUDA backend unavailable: " + CudaBackend.unavailableReason());
            System.out.println("[cuda] " + first);
        } else {
            assertSame(a, b, "the backend is shared per device");
            assertEquals(Device.cuda(), a.device());
            System.out.println("[cuda] opened " + ((CudaBackend) a).describe());
            assertNull(CudaBackend.unavailableReason());
            assertTrue(CudaBackend.deviceCount() >= 1);
        }
    }

    @Test
    void cpuKeepsWorkingWhateverCudaDid() {
        openOrNull(new StringBuilder());
        try (Tensor x = Tensor.of(new float[]{1, 2, 3}, 3); Tensor y = Ops.to(x, Device.CPU)) {
            assertArrayEquals(new float[]{1, 2, 3}, y.toFloatArray());
        }
    }

    @Test
    void refusalNamesTheMissingPiece() {
        StringBuilder why = new StringBuilder();
        if (openOrNull(why) != null) return;  // a GPU machine: covered by opensOrRefusesWithAReason
        String m = why.toString();
        if (m.contains("no CUDA driver")) assertEquals(0, CudaBackend.deviceCount(), "no device is usable without a driver");
        assertTrue(m.contains("driver") || m.contains("device") || m.contains("kernels") || m.contains("native"),
                "the reason names driver, device, kernels or native library: " + m);
    }
}
