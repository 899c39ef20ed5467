package dev.diffuse4j.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** check-spills.sh fails the build on a spilling hot kernel, warns on others, and reads the real reports. */
class SpillCheckTest {
    private static final Path SCRIPT = Path.of("check-spills.sh");

    private static String report(String kernel, int regs, int spillStores, int spillLoads) {
        return "ptxas info    : Compiling entry function '" + kernel + "' for 'sm_90a'\n"
                + "ptxas info    : Function properties for " + kernel + "\n"
                + "    " + spillStores + " bytes stack frame, " + spillStores + " bytes spill stores, " + spillLoads + " bytes spill loads\n"
                + "ptxas info    : Used " + regs + " registers, used 1 barriers, 2048 bytes smem\n";
    }

    private record Run(int exit, String output) {}

    private static Run check(Path dir) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("bash", SCRIPT.toString(), dir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(p.waitFor(), out);
    }

    @Test
    void spillInHotKernelFails(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("gemm.ptxas.log"), report("gemm_tc_f16_nt_l", 255, 24, 40) + report("gemm_simt_f32", 48, 0, 0));
        Run r = check(dir);
        assertEquals(1, r.exit(), r.output());
        assertTrue(r.output().contains("gemm_tc_f16_nt_l") && r.output().contains("FAIL"), r.output());
        String table = Files.readString(dir.resolve("summary.txt"));
        assertTrue(table.contains("gemm_simt_f32") && table.contains("255"), table);
    }

    @Test
    void spillElsewhereOnlyWarns(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("copy.ptxas.log"), report("copy_strided_e2", 64, 8, 8) + report("flash_f16_d64", 127, 0, 0));
        Run r = check(dir);
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("warning"), r.output());
    }

    @Test
    void packagedKernelsHaveNoHotSpills() throws Exception {
        Path logs = Path.of("target/ptxas");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(logs) && KernelImages.available(),
                "skipped: no ptxas reports (this build had no nvcc)");
        Run r = check(logs);
        assertEquals(0, r.exit(), r.output());
        String table = Files.readString(logs.resolve("summary.txt"));
        for (String hot : new String[]{"gemm_tc_f16_nt_l", "conv_tc_bf16_l", "flash_f16_d160", "group_norm_apply_f16", "layer_norm_bf16"})
            assertTrue(table.contains(hot), "summary lists " + hot);
    }
}
