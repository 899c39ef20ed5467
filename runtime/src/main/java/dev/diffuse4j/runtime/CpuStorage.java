package dev.diffuse4j.runtime;

import java.lang.foreign.MemorySegment;

/**
 * Host memory for CPU tensors. Either owned (allocated here, freed with the last reference) or
 * borrowed (a memory-mapped checkpoint region whose lifetime belongs to its file).
 */
public final class CpuStorage extends Storage {
    /** Alignment of owned allocations: one cache line, which also suits 512-bit vector loads. */
    public static final long ALIGNMENT = 64;

    private final MemorySegment segment;
    private final HostMemoryPool.Block block; // null for borrowed memory

    private CpuStorage(MemorySegment segment, HostMemoryPool.Block block) {
        super(Device.CPU, segment.byteSize());
        this.segment = segment;
        this.block = block;
    }

    /** Allocates zeroed host memory of the given size (reusing a freed block of similar size when one is idle). */
    public static CpuStorage allocate(long byteSize) {
        if (byteSize < 0) throw new IllegalArgumentException("negative allocation size " + byteSize);
        HostMemoryPool.Block block;
        try {
            block = HostMemoryPool.acquire(Math.max(byteSize, 1));
        } catch (OutOfMemoryError e) {
            throw new OutOfMemoryError("cannot allocate " + byteSize + " bytes of host memory for a tensor ("
                    + MemoryStats.cpuBytesInUse() + " bytes already held by tensors): " + e.getMessage());
        }
        MemorySegment seg = block.segment().asSlice(0, Math.max(byteSize, 1));
        MemoryStats.onAllocate(seg.byteSize());
        return new CpuStorage(seg, block);
    }

    /** Wraps memory owned by someone else (e.g. a memory-mapped file); never freed here. */
    public static CpuStorage borrow(MemorySegment segment) {
        return new CpuStorage(segment, null);
    }

    /** Frees the idle blocks kept for reuse (see {@link MemoryStats#cpuBytesIdle()}). */
    public static void trimPool() { HostMemoryPool.trim(); }

    public MemorySegment segment() {
        if (!isLive()) throw new IllegalStateException("use of a released CPU tensor storage");
        return segment;
    }

    public boolean isOwned() { return block != null; }

    @Override
    protected void free() {
        if (block != null) {
            MemoryStats.onFree(segment.byteSize());
            HostMemoryPool.release(block);
        }
    }
}
