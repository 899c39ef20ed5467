package dev.diffuse4j.runtime.cuda;

import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** Without cuBLAS installed, binding it fails with a reason that says what was tried and how to point at it. */
class CublasBindingTest {
    @Test
    void missingLibraryIsExplained() {
        assumeFalse(CudaTestSupport.loadable("libcublas.so.13") || CudaTestSupport.loadable("libcublas.so.12") || System.getProperty("d4j.cublas.path") != null
                || System.getenv("D4J_CUBLAS") != null, "skipped: cuBLAS is installed here (covered by CudaParityTest.cublasGemmPath)");
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> Cublas.open(0L));
        assertTrue(e.getMessage().contains("libcublas.so.13") && e.getMessage().contains("d4j.cublas.path"), e.getMessage());
    }

    @Test
    void aNamedLibraryThatIsNotCublasIsRefusedByName() {
        String prior = System.getProperty("d4j.cublas.path");
        System.setProperty("d4j.cublas.path", "libc.so.6");  // loads, but has no cuBLAS symbols
        try {
            CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> Cublas.open(0L));
            assertTrue(e.getMessage().contains("libc.so.6") && e.getMessage().contains("cublasCreate_v2"), e.getMessage());
        } finally {
            if (prior == null) System.clearProperty("d4j.cublas.path");
            else System.setProperty("d4j.cublas.path", prior);
        }
    }
}
