package dev.diffuse4j.runtime;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class HostMemoryPoolTest {
    @Test
    void bucketsHaveAtMostAQuarterSlack() {
        for (long size = HostMemoryPool.MIN_POOLED; size < (1L << 34); size = size * 5 / 4 + 7) {
            long b = HostMemoryPool.bucket(size);
            assertTrue(b >= size && b <= size + size / 4 + 1, size + " -> " + b);
            assertEquals(b, HostMemoryPool.bucket(b), "a bucket size is its own bucket");
        }
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
        try (Tensor b = Tensor.zeros(n - 5)) {
            assertEquals(idle - HostMemoryPool.bucket(4L * n), MemoryStats.cpuBytesIdle(), "the idle block was reused");
            for (float v : b.toFloatArray()) assertEquals(0f, v);
        }
        CpuStorage.trimPool();
        assertEquals(0, MemoryStats.cpuBytesIdle());
    }
}
