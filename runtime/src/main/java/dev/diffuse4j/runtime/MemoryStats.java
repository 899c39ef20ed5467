package dev.diffuse4j.runtime;

import java.util.concurrent.atomic.AtomicLong;

/** Process-wide accounting of host memory held by tensors the runtime allocated. */
public final class MemoryStats {
    private static final AtomicLong inUse = new AtomicLong();
    private static final AtomicLong peak = new AtomicLong();

    private MemoryStats() {}

    static void onAllocate(long bytes) {
        long now = inUse.addAndGet(bytes);
        peak.accumulateAndGet(now, Math::max);
    }

    static void onFree(long bytes) { inUse.addAndGet(-bytes); }

    /** Bytes of host memory currently held by owned tensor storages. */
    public static long cpuBytesInUse() { return inUse.get(); }

    /** Highest value of {@link #cpuBytesInUse()} since start or the last {@link #resetPeak()}. */
    public static long cpuPeakBytes() { return peak.get(); }

    /** Bytes of freed blocks kept idle for reuse by later tensors ({@link CpuStorage#trimPool()} frees them). */
    public static long cpuBytesIdle() { return HostMemoryPool.idleBytes(); }

    public static void resetPeak() { peak.set(inUse.get()); }
}
