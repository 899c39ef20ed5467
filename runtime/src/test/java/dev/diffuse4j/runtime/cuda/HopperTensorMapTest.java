package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Without a GPU: the cuTensorMapEncodeTiled arguments of the Hopper GEMM's operands (cuda.h rules,
 * gemm_sm90.cu's box and swizzle), the kernel's epilogue struct layout, and how a missing or wrong
 * driver library is reported.
 */
class HopperTensorMapTest {
    private static final long BASE = 0x7f00_0000_0000L;  // 16-byte aligned, as cuMemAlloc returns

    @Test
    void rowMajorF16OperandIsKByRowsWithByteStrides() {
        // A [M=300, K=200] F16 with a padded row stride lda = 208 elements = 416 bytes.
        TensorMapSpec s = TensorMapSpec.kMajor("linear", DType.F16, BASE, 300, 200, 208, 1, 0, 128, 64);
        assertArrayEquals(new long[]{200, 300, 1}, s.dims());
        assertEquals(416, s.strides()[0]);
        assertEquals(300 * 416, s.strides()[1], "a single batch entry still gets a valid stride past the matrix");
        assertArrayEquals(new int[]{64, 128, 1}, s.box());
        assertArrayEquals(new int[]{1, 1, 1}, s.elementStrides());
        assertEquals(6, s.dataType(), "CU_TENSOR_MAP_DATA_TYPE_FLOAT16");
        assertEquals(3, s.swizzle(), "CU_TENSOR_MAP_SWIZZLE_128B");
        assertEquals(0, s.interleave(), "CU_TENSOR_MAP_INTERLEAVE_NONE");
        assertEquals(0, s.oobFill(), "zeros out of bounds");
        assertEquals(16384, s.boxBytes());
    }

    @Test
    void batchedBf16OperandHasBatchDimension() {
        // B [3 batches, N=19, K=24] contiguous: batch stride 19 * 24 elements.
        TensorMapSpec s = TensorMapSpec.kMajor("matmul", DType.BF16, BASE, 19, 24, 24, 3, 19 * 24, 128, 64);
        assertArrayEquals(new long[]{24, 19, 3}, s.dims());
        assertArrayEquals(new long[]{48, 19 * 24 * 2}, s.strides());
        assertEquals(9, s.dataType(), "CU_TENSOR_MAP_DATA_TYPE_BFLOAT16");
    }

    @Test
    void stridesTmaCannotTakeAreRefusedNamingOpAndShape() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TensorMapSpec.kMajor("linear", DType.F16, BASE, 9, 13, 13, 1, 0, 128, 64));
        assertTrue(e.getMessage().startsWith("linear: operand [1, 9, 13] F16") && e.getMessage().contains("26 bytes")
                && e.getMessage().contains("multiple of 16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TensorMapSpec.kMajor("matmul", DType.BF16, BASE + 8, 64, 64, 64, 1, 0, 128, 64));
        assertTrue(e.getMessage().contains("not 16-byte aligned"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TensorMapSpec.kMajor("matmul", DType.F16, BASE, 64, 64, 64, 4, 64, 128, 64));
        assertTrue(e.getMessage().contains("overlaps the previous batch"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TensorMapSpec.kMajor("matmul", DType.F16, BASE, 64, 64, 32, 1, 0, 128, 64));
        assertTrue(e.getMessage().contains("shorter than a row"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TensorMapSpec.kMajor("matmul", DType.F32, BASE, 64, 64, 64, 1, 0, 128, 64));
        assertTrue(e.getMessage().contains("F16 or BF16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TensorMapSpec.kMajor("matmul", DType.F16, BASE, 64, 128, 128, 1, 0, 128, 128));
        assertTrue(e.getMessage().contains("128-byte swizzle"), e.getMessage());  // a 256-byte box row exceeds the swizzle span
        // K need not be a multiple of 8 when the row stride is padded: TMA reads zeros past K.
        assertNull(TensorMapSpec.refusal(DType.F16, BASE, 5, 13, 16, 1, 0, 128, 64));
        // A broadcast operand (one batch entry) ignores its batch stride.
        assertNull(TensorMapSpec.refusal(DType.F16, BASE, 64, 64, 64, 1, 0, 128, 64));
    }

    @Test
    void sharedMemoryBudgetMatchesTheKernel() {
        // sm90.cuh: static_assert(WGMMA_SMEM_BYTES == 99328): 3 stages of a 128x64 A box and a 128x64 B box, + 1 KiB alignment slack.
        TensorMapSpec a = TensorMapSpec.kMajor("t", DType.F16, BASE, 1000, 1000, 1000, 1, 0, CudaWgmmaGemm.BM, CudaWgmmaGemm.BK);
        TensorMapSpec b = TensorMapSpec.kMajor("t", DType.F16, BASE, 1000, 1000, 1000, 1, 0, CudaWgmmaGemm.BN, CudaWgmmaGemm.BK);
        assertEquals(99328, 3 * (a.boxBytes() + b.boxBytes()) + 1024);
        assertEquals(99328, CudaWgmmaGemm.SMEM_BYTES);
        // Two blocks per SM (launch bounds 288, 2): H100 has 228 KiB of shared memory per SM, 1 KiB of it reserved per block.
        assertTrue(2 * (CudaWgmmaGemm.SMEM_BYTES + 64 + 1024) <= 228 * 1024, "two blocks fit one SM");
        // attention_sm90.cu: static_assert(FLASH_WGMMA_SMEM_BYTES == 82944): a Q box and 2 stages of a K and a V box (128x64 each), + 1 KiB.
        TensorMapSpec kv = TensorMapSpec.kMajor("t", DType.BF16, BASE, 1000, 640, 640, 2, 640_000, CudaWgmmaAttention.BLOCK_KEYS,
                CudaWgmmaAttention.HEAD_DIM);
        assertEquals(82944, kv.boxBytes() + 2 * 2 * kv.boxBytes() + 1024);
        assertEquals(82944, CudaWgmmaAttention.SMEM_BYTES);
    }

    @Test
    void epilogueStructMatchesGemmSm90Cu() {
        // sm90.cuh: sizeof 88; ldc at 24, M at 56, alpha at 72, batchA at 80.
        byte[] b = CudaWgmmaGemm.epilogue(1, (Tensor) null, 3, 4, 5, 6, 7, 8, 9, 10, 0.5f, 0.25f, 11, 12);
        assertEquals(88, b.length);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, bb.getLong(0));   // C
        assertEquals(0, bb.getLong(8));   // bias (none)
        assertEquals(3, bb.getLong(16));  // R
        assertEquals(4, bb.getLong(24));  // ldc
        assertEquals(5, bb.getLong(32));  // ldr
        assertEquals(6, bb.getLong(40));  // sC
        assertEquals(7, bb.getLong(48));  // sR
        assertEquals(8, bb.getInt(56));   // M
        assertEquals(9, bb.getInt(60));   // N
        assertEquals(10, bb.getInt(64));  // K
        assertEquals(-1, bb.getInt(68));  // biasCode D_NONE
        assertEquals(0.5f, bb.getFloat(72));
        assertEquals(0.25f, bb.getFloat(76));
        assertEquals(11, bb.getInt(80));
        assertEquals(12, bb.getInt(84));
    }

    @Test
    void missingDriverIsExplained() {
        assumeFalse(CudaTestSupport.loadable("libcuda.so.1") || System.getProperty("d4j.cuda.driver.path") != null || System.getenv("D4J_LIBCUDA") != null,
                "skipped: libcuda.so.1 is installed here (the binding is exercised by CudaWgmmaGemmTest on a GPU)");
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, HopperDriver::open);
        assertTrue(e.getMessage().contains("libcuda.so.1") && e.getMessage().contains("d4j.cuda.driver.path"), e.getMessage());
    }

    @Test
    void aLibraryWithoutTheTensorMapCallIsRefusedByName() {
        String prior = System.getProperty("d4j.cuda.driver.path");
        System.setProperty("d4j.cuda.driver.path", "libc.so.6");  // loads, but is no CUDA driver
        try {
            CudaUnavailableException e = assertThrows(CudaUnavailableException.class, HopperDriver::open);
            assertTrue(e.getMessage().contains("libc.so.6") && e.getMessage().contains("cuTensorMapEncodeTiled"), e.getMessage());
        } finally {
            if (prior == null) System.clearProperty("d4j.cuda.driver.path");
            else System.setProperty("d4j.cuda.driver.path", prior);
        }
    }
}
