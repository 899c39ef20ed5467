package dev.diffuse4j.kernels;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Without a GPU: replays the tensor-core kernels' index maths (cp.async tile stores with their
 * swizzles, ldmatrix and mma.m16n8k16 fragments as the PTX ISA defines them, epilogues, the flash
 * kernel's online softmax across key tiles) in numpy and compares with plain matrix products and
 * softmax attention (tools/*_replay.py). Skipped where python3 with numpy is missing.
 */
class FragmentReplayTest {
    private static String run(String script) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("python3", script).directory(new java.io.File("tools")).redirectErrorStream(true);
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");  // leave no __pycache__ in the source tree
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), script + " timed out");
        assertEquals(0, p.exitValue(), script + " failed:\n" + out);
        return out;
    }

    private static boolean numpy() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import numpy").redirectErrorStream(true).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void gemmTilesComputeTheProduct() throws Exception {
        assumeTrue(numpy(), "skipped: python3 with numpy is not installed");
        assertTrue(run("gemm_replay.py").contains("gemm fragments OK"));
    }

    @Test
    void hopperGemmTilesComputeTheProduct() throws Exception {
        assumeTrue(numpy(), "skipped: python3 with numpy is not installed");
        assertTrue(run("wgmma_replay.py").contains("wgmma fragments OK"));
    }

    @Test
    void flashTileComputesSoftmaxAttention() throws Exception {
        assumeTrue(numpy(), "skipped: python3 with numpy is not installed");
        assertTrue(run("flash_replay.py").contains("flash fragments OK"));
    }
}
