package dev.diffuse4j.runtime;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class HostMemoryPoolTest {
    @Test
    void blocksArePooledByExactSize() {
        assertEquals(HostMemoryPool.MIN_POOLED + 3, HostMemoryPool.bucket(HostMemoryPool.MIN_POOLED + 3), "no slack");
        assertEquals(0, HostMemoryPool.bucket(100), "small blocks are not pooled");
    }

    @Test
    void reusedBlocksComeBackZeroedAndAccountingStaysExact() {
        long before = MemoryStats.cpuBytesInUse();
        int n = 300_001;
        try (Tensor a = Tensor.zeros(n)) {
            for (int i = 0; i < n; i++) a.setFloat(i, i + 1);
            assertEquals(before + 4L * n, MemoryStats.cpuBytesInUse());
        }
        assertEquals(before, MemoryStats.cpuBytesInUse());
        long idle = MemoryStats.cpuBytesIdle();
        assertTrue(idle >= 4L * n, "the block is kept for reuse");
        try (Tensor b = Tensor.zeros(n)) {
            assertEquals(idle - HostMemoryPool.bucket(4L * n), MemoryStats.cpuBytesIdle(), "the idle block was reused");
            for (float v : b.toFloatArray()) assertEquals(0f, v);
        }
        CpuStorage.trimPool();
        assertEquals(0, MemoryStats.cpuBytesIdle());
    }
}
