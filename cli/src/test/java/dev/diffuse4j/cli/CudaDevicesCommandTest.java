package dev.diffuse4j.cli;

import dev.diffuse4j.runtime.cuda.CudaBackend;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import static dev.diffuse4j.cli.GenerateCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code d4j devices} in each place it runs: without CUDA (the default test run) it names the
 * runtime's reason and fails --require-cuda; on a device (the host emulator in the cuda-emulated
 * run, or a GPU) it names the device and what its GEMM choices need.
 */
class CudaDevicesCommandTest {
    @Test
    void reportsTheCpuAndWhatCudaCanDoHere() {
        GenerateCommandTest.Run r = run("devices");
        assertEquals(0, r.exit(), r.out());
        int threads = Integer.getInteger("d4j.threads", Runtime.getRuntime().availableProcessors());
        assertTrue(r.out().startsWith("cpu: " + threads + " threads, Vector API " + FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit"), r.out());
        String reason = CudaBackend.unavailableReason();
        if (reason != null) {
            assertTrue(r.out().contains("cuda: unavailable: " + reason), r.out());
            assertEquals(1, run("devices", "--require-cuda").exit(), "--require-cuda without a device");
            return;
        }
        CudaBackend cuda = CudaBackend.get();
        assertTrue(r.out().contains("cuda: " + cuda.describe()), r.out());
        assertEquals(0, run("devices", "--require-cuda").exit());
        if (cuda.emulated()) {  // the emulated device is sm_80 and has no cuBLAS: both choices say why
            assertTrue(r.out().contains("wgmma/TMA kernel: unavailable: wgmma GEMM: the wgmma/TMA kernels need compute capability 9.0"), r.out());
            assertTrue(r.out().contains("cuBLAS: unavailable: cuBLAS is not available under the host emulator"), r.out());
            assertTrue(r.out().contains("gemm: mma.sync tensor-core kernels"), r.out());
        }
    }
}
