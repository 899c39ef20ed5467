package dev.diffuse4j.kernels;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The packaged fatbins match the CUDA sources: one module per .cu, every entry point inside. */
class KernelImagesTest {
    private static final Path SOURCES = Path.of("src/main/cuda");

    @Test
    void everySourceFileIsPackagedWithItsKernels() throws IOException {
        assumeTrue(KernelImages.available(), "skipped: this build had no nvcc, so no CUDA kernels were packaged");
        Set<String> sources;
        try (Stream<Path> s = Files.list(SOURCES)) {
            sources = s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cu"))
                    .map(n -> n.substring(0, n.length() - 3)).collect(Collectors.toSet());
        }
        assertEquals(sources, Set.copyOf(KernelImages.modules()), "packaged modules vs src/main/cuda/*.cu");
        for (String m : KernelImages.modules()) {
            byte[] image = KernelImages.image(m);
            Set<String> entries = KernelImages.entryPoints(m);
            assertFalse(entries.isEmpty(), m + " has no entry points");
            String source = Files.readString(SOURCES.resolve(m + ".cu"));
            for (String e : entries) {
                assertTrue(KernelImages.containsKernel(image, e), m + ".fatbin lacks machine code for " + e);
                // Each entry point comes from the module's own source (a macro or a literal name).
                String stem = e.replaceAll("_(f32|f16|bf16|e\\d+)(_.*)?$", "");
                assertTrue(source.contains(stem), e + " not traceable to " + m + ".cu (looked for '" + stem + "')");
            }
        }
    }

    @Test
    void symbolScanFindsOnlyWholeNames() {
        byte[] image = "xx.text.gemm_tc_f16_nt_l\0yy".getBytes();
        assertTrue(KernelImages.containsKernel(image, "gemm_tc_f16_nt_l"));
        assertFalse(KernelImages.containsKernel(image, "gemm_tc_f16_nt"));
        assertFalse(KernelImages.containsKernel(image, "gemm_tc_f16_nt_l2"));
    }

    @Test
    void missingModuleIsNamed() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> KernelImages.image("no_such_module"));
        assertTrue(e.getMessage().contains("no_such_module"), e.getMessage());
        assertEquals(List.of(), KernelImages.modules().stream().filter(String::isBlank).toList());
    }
}
