package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.kernels.KernelImages;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Without a GPU: the packaged fatbins hold every kernel the backend launches, and the argument structs have the C layout. */
class CudaKernelCatalogTest {
    @Test
    void everyKernelTheBackendLaunchesIsPackaged() {
        assumeTrue(KernelImages.available(), "skipped: diffuse4j-kernels was built without nvcc, so no fatbins are packaged");
        Map<String, Set<String>> catalog = CudaKernels.catalog();
        assertTrue(KernelImages.modules().containsAll(catalog.keySet()), "modules " + KernelImages.modules() + " vs " + catalog.keySet());
        int n = 0;
        for (var e : catalog.entrySet()) {
            byte[] image = KernelImages.image(e.getKey());
            Set<String> entries = KernelImages.entryPoints(e.getKey());
            for (String k : e.getValue()) {
                assertTrue(entries.contains(k), e.getKey() + " manifest lacks " + k);
                assertTrue(KernelImages.containsKernel(image, k), e.getKey() + ".fatbin lacks machine code for " + k);
                n++;
            }
        }
        assertTrue(n > 80, "catalog suspiciously small: " + n);
    }

    @Test
    void stridedStructMatchesCommonCuh() {
        byte[] b = CStruct.strided(new int[]{2, 3, 5}, new long[]{15, 5, 1});
        assertEquals(136, b.length);  // static_assert(sizeof(Strided) == 136) in common.cuh
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(3, bb.getInt(0));
        assertEquals(2, bb.getLong(8));
        assertEquals(5, bb.getLong(24));
        assertEquals(1, bb.getLong(32), "unused dims have extent 1");
        assertEquals(15, bb.getLong(72));
        assertEquals(1, bb.getLong(88));
        assertThrows(IllegalArgumentException.class, () -> CStruct.strided(new int[9], new long[9]));
    }

    @Test
    void gemmArgsMatchGemmCuh() {
        // gemm.cuh: sizeof 152; lda at 40, sA at 72, a_k at 104, M at 128, alpha at 144.
        byte[] b = CudaLinalg.gemmArgs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, (Tensor) null, 0.5f, 0.25f);
        assertEquals(152, b.length);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, bb.getLong(0));    // A
        assertEquals(5, bb.getLong(8));    // B
        assertEquals(10, bb.getLong(16));  // C
        assertEquals(0, bb.getLong(24));   // bias
        assertEquals(13, bb.getLong(32));  // R
        assertEquals(2, bb.getLong(40));   // lda
        assertEquals(6, bb.getLong(48));   // ldb
        assertEquals(11, bb.getLong(56));  // ldc
        assertEquals(14, bb.getLong(64));  // ldr
        assertEquals(4, bb.getLong(72));   // sA
        assertEquals(9, bb.getLong(80));   // sB
        assertEquals(12, bb.getLong(88));  // sC
        assertEquals(15, bb.getLong(96));  // sR
        assertEquals(3, bb.getLong(104));  // a_k
        assertEquals(7, bb.getLong(112));  // b_k
        assertEquals(8, bb.getLong(120));  // b_n
        assertEquals(16, bb.getInt(128));  // M
        assertEquals(17, bb.getInt(132));  // N
        assertEquals(18, bb.getInt(136));  // K
        assertEquals(-1, bb.getInt(140));  // no bias
        assertEquals(0.5f, bb.getFloat(144));
        assertEquals(0.25f, bb.getFloat(148));
    }

    /** The kernels take UnaryOp/BinaryOp ordinals: elementwise.cu's enums must list the same ops in the same order. */
    @Test
    void opCodesMatchElementwiseCu() throws java.io.IOException {
        java.nio.file.Path cu = java.nio.file.Path.of("../kernels/src/main/cuda/elementwise.cu");  // from the module (Maven)
        if (!java.nio.file.Files.exists(cu)) cu = java.nio.file.Path.of("kernels/src/main/cuda/elementwise.cu");  // from the repo root
        assumeTrue(java.nio.file.Files.exists(cu), "skipped: kernel sources not found from " + java.nio.file.Path.of("").toAbsolutePath());
        String src = java.nio.file.Files.readString(cu);
        assertEquals(names(dev.diffuse4j.runtime.ops.UnaryOp.values()), enumBody(src, "UnaryCode", "U_"));
        assertEquals(names(dev.diffuse4j.runtime.ops.BinaryOp.values()), enumBody(src, "BinaryCode", "B_"));
    }

    /** grad.cu's derivative switch takes UnaryOp ordinals too. */
    @Test
    void unaryCodesMatchGradCu() throws java.io.IOException {
        java.nio.file.Path cu = java.nio.file.Path.of("../kernels/src/main/cuda/grad.cu");
        if (!java.nio.file.Files.exists(cu)) cu = java.nio.file.Path.of("kernels/src/main/cuda/grad.cu");
        assumeTrue(java.nio.file.Files.exists(cu), "skipped: kernel sources not found from " + java.nio.file.Path.of("").toAbsolutePath());
        assertEquals(names(dev.diffuse4j.runtime.ops.UnaryOp.values()), enumBody(java.nio.file.Files.readString(cu), "GradUnaryCode", "G_"));
    }

    private static java.util.List<String> names(Enum<?>[] values) {
        return java.util.Arrays.stream(values).map(Enum::name).toList();
    }

    private static java.util.List<String> enumBody(String src, String name, String prefix) {
        int a = src.indexOf("enum " + name);
        assertTrue(a >= 0, "enum " + name + " not found in elementwise.cu");
        String body = src.substring(src.indexOf('{', a) + 1, src.indexOf('}', a));
        return java.util.Arrays.stream(body.split(",")).map(String::strip).filter(x -> !x.isEmpty())
                .map(x -> x.substring(prefix.length())).toList();
    }

    @Test
    void allocatorRoundsToItsSizeClasses() {
        assertEquals(512, CudaAllocator.round(1));
        assertEquals(512, CudaAllocator.round(512));
        assertEquals(1024, CudaAllocator.round(513));
        assertEquals(2 << 20, CudaAllocator.round((1 << 20) + 1));
        assertEquals(4 << 20, CudaAllocator.round((2 << 20) + 1));
    }
}
