package dev.diffuse4j.runtime.cuda;

/**
 * Device memory accounting of one CUDA backend.
 *
 * @param inUseBytes   held by live tensors (rounded block sizes)
 * @param peakBytes    highest {@code inUseBytes} since start or the last reset
 * @param cachedBytes  freed blocks kept for reuse (not given back to the driver)
 * @param driverAllocs cuMemAlloc calls made
 * @param cacheHits    allocations served from the cache
 */
public record CudaMemoryStats(long inUseBytes, long peakBytes, long cachedBytes, long driverAllocs, long cacheHits) {
    @Override
    public String toString() {
        return "in use " + CudaAllocator.mib(inUseBytes) + ", peak " + CudaAllocator.mib(peakBytes) + ", cached "
                + CudaAllocator.mib(cachedBytes) + ", " + driverAllocs + " driver allocations, " + cacheHits + " cache hits";
    }
}
