package dev.diffuse4j.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Host memory for CPU tensors. Either owned (allocated here, freed with the last reference) or
 * borrowed (a memory-mapped checkpoint region whose lifetime belongs to its file).
 */
public final class CpuStorage extends Storage {
    /** Alignment of owned allocations: one cache line, which also suits 512-bit vector loads. */
    public static final long ALIGNMENT = 64;

    private final MemorySegment segment;
    private final Arena arena; // null for borrowed memory

    private CpuStorage(MemorySegment segment, Arena arena) {
        super(Device.CPU, segment.byteSize());
        this.segment = segment;
        this.arena = arena;
    }

    /** Allocates zeroed host memory of the given size. */
    public static CpuStorage allocate(long byteSize) {
        Arena arena = Arena.ofShared();
        MemorySegment seg;
        try {
            seg = arena.allocate(Math.max(byteSize, 1), ALIGNMENT);
        } catch (OutOfMemoryError e) {
            arena.close();
            throw new OutOfMemoryError("cannot allocate " + byteSize + " bytes of host memory for a tensor ("
                    + MemoryStats.cpuBytesInUse() + " bytes already held by tensors): " + e.getMessage());
        }
        MemoryStats.onAllocate(seg.byteSize());
        return new CpuStorage(seg, arena);
    }

    /** Wraps memory owned by someone else (e.g. a memory-mapped file); never freed here. */
    public static CpuStorage borrow(MemorySegment segment) {
        return new CpuStorage(segment, null);
    }

    public MemorySegment segment() {
        if (!isLive()) throw new IllegalStateException("use of a released CPU tensor storage");
        return segment;
    }

    public boolean isOwned() { return arena != null; }

    @Override
    protected void free() {
        if (arena != null) {
            MemoryStats.onFree(segment.byteSize());
            arena.close();
        }
    }
}
