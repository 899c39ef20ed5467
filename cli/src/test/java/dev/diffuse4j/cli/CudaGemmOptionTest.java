package dev.diffuse4j.cli;

import dev.diffuse4j.runtime.cuda.CudaBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.diffuse4j.cli.GenerateCommandTest.assertRefused;
import static dev.diffuse4j.cli.GenerateCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code generate --backend cuda --cuda-gemm wgmma} in each place it runs: without CUDA it names the
 * runtime's reason; on a device that is not sm_90 (the host emulator in the cuda-emulated run) it
 * names what the Hopper kernels need; on sm_90 (a Hopper GPU, or the emulator opened as sm_90 in
 * the cuda-emulated-hopper run) the image is made through the wgmma kernels.
 */
class CudaGemmOptionTest {
    @TempDir
    Path tmp;

    @Test
    void wgmmaRunsWhereTheHopperKernelsCanAndSaysWhyElsewhere() throws Exception {
        Path out = tmp.resolve("w.png");
        String[] args = generate("wgmma", out);
        String reason = CudaBackend.unavailableReason();
        if (reason != null) {
            assertRefused(run(args), reason);
            return;
        }
        CudaBackend cuda = CudaBackend.get();
        String why = cuda.wgmmaUnavailableReason();
        if (why != null) {
            assertRefused(run(args), "the wgmma/TMA kernels need compute capability 9.0");
            assertTrue(!cuda.usesWgmmaGemm(), "a refused --cuda-gemm leaves the backend as it was");
            return;
        }
        try {
            long before = CudaBackend.wgmmaLaunches();
            GenerateCommandTest.Run r = run(args);
            assertEquals(0, r.exit(), r.err());
            assertTrue(Files.size(out) > 0, "PNG written");
            assertTrue(CudaBackend.wgmmaLaunches() > before, "the image was made through the wgmma kernels");
            assertRefused(run(generate("fast", out)), "kernels, wgmma or cublas");
        } finally {
            cuda.useWgmmaGemm(false);
        }
    }

    private static String[] generate(String gemm, Path out) {
        return new String[]{"generate", "--fake-weights", "tiny-sd15", "--backend", "cuda", "--cuda-gemm", gemm,
                "--prompt", "a red boat", "--steps", "2", "--size", "64x48", "--out", out.toString()};
    }
}
