package dev.diffuse4j.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reuses freed host blocks for tensors of similar size. A model step allocates and frees the same
 * activation sizes over and over; fresh large allocations cost a new mapping from the OS and a page
 * fault per 4 KB (measured: 84 MB took ~100 ms, several times the op that filled it), while a reused
 * block only needs zeroing. Blocks are kept by exact size: a sampling loop repeats the same shapes
 * every step, and rounding sizes up would leave long-lived tensors (weights) with resident slack.
 * At most {@code d4j.pool.maxBytes} (default 2 GB) are kept idle; the rest is freed at once.
 */
final class HostMemoryPool {
    static final long MIN_POOLED = 64 * 1024;
    static final long MAX_IDLE = Long.getLong("d4j.pool.maxBytes", 2L << 30);

    record Block(Arena arena, MemorySegment segment) {}

    private static final Map<Long, ConcurrentLinkedDeque<Block>> IDLE = new ConcurrentHashMap<>();
    private static final AtomicLong idleBytes = new AtomicLong();

    private HostMemoryPool() {}

    /** A zeroed block of at least {@code size} bytes. */
    static Block acquire(long size) {
        long bucket = bucket(size);
        if (bucket > 0) {
            ConcurrentLinkedDeque<Block> q = IDLE.get(bucket);
            Block b = q == null ? null : q.pollFirst();
            if (b != null) {
                idleBytes.addAndGet(-bucket);
                b.segment().asSlice(0, size).fill((byte) 0);
                return b;
            }
        }
        long bytes = bucket > 0 ? bucket : Math.max(size, 1);
        try {
            return fresh(bytes);
        } catch (OutOfMemoryError e) {
            trim(); // idle blocks are the first thing to give back
            return fresh(bytes);
        }
    }

    private static Block fresh(long bytes) {
        Arena arena = Arena.ofShared();
        try {
            return new Block(arena, arena.allocate(bytes, CpuStorage.ALIGNMENT));
        } catch (OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    /** Keeps the block for reuse, or frees it when it is small or the idle cap is reached. */
    static void release(Block b) {
        long bytes = b.segment().byteSize();
        if (bytes == bucket(bytes) && idleBytes.addAndGet(bytes) <= MAX_IDLE) {
            IDLE.computeIfAbsent(bytes, k -> new ConcurrentLinkedDeque<>()).addFirst(b);
            return;
        }
        if (bytes == bucket(bytes)) idleBytes.addAndGet(-bytes);
        b.arena().close();
    }

    /** Frees every idle block. */
    static void trim() {
        for (ConcurrentLinkedDeque<Block> q : IDLE.values())
            for (Block b; (b = q.pollFirst()) != null; ) {
                idleBytes.addAndGet(-b.segment().byteSize());
                b.arena().close();
            }
    }

    static long idleBytes() { return idleBytes.get(); }

    /** The pooled size for a request (the size itself), or 0 for sizes too small to pool. */
    static long bucket(long size) {
        return size < MIN_POOLED ? 0 : size;
    }
}
