package dev.diffuse4j.runtime.cuda;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A caching allocator of device memory. Freed blocks go to a free list keyed by size and are
 * handed out again (best fit, at most twice the request) without a driver call; since every op is
 * queued on one stream, a block freed by one op and reused by the next is ordered correctly.
 * When the driver reports out-of-memory the cache is released and the allocation retried once;
 * a second failure throws {@link CudaOutOfMemoryException} with the sizes involved.
 *
 * <p>During CUDA-graph capture, allocations come from the capturing {@link GraphPool}: its blocks
 * stay reserved for the graph (replays write them again) and are never handed to other work. So
 * do blocks allocated before the capture and freed during it, which the replays still read.
 */
final class CudaAllocator {
    private static final long SMALL = 1 << 20, SMALL_ROUND = 512, LARGE_ROUND = 2 << 20;

    private final CudaContext ctx;
    private final TreeMap<Long, ArrayDeque<Block>> free = new TreeMap<>();
    private long inUse, peak, cached, driverAllocs, cacheHits;
    private GraphPool capturing;

    /** One device allocation. */
    static final class Block {
        final long address, size;
        GraphPool pool;

        Block(long address, long size) {
            this.address = address;
            this.size = size;
        }
    }

    /** Blocks owned by one captured graph. */
    static final class GraphPool {
        final List<Block> all = new ArrayList<>();
        final TreeMap<Long, ArrayDeque<Block>> free = new TreeMap<>();
        boolean closed;
    }

    CudaAllocator(CudaContext ctx) { this.ctx = ctx; }

    static long round(long bytes) {
        long b = Math.max(bytes, 1);
        long r = b < SMALL ? SMALL_ROUND : LARGE_ROUND;
        return (b + r - 1) / r * r;
    }

    synchronized Block allocate(long bytes, String op) {
        long size = round(bytes);
        Block b = capturing != null ? take(capturing.free, size) : take(free, size);
        if (b != null) {
            cacheHits++;
            if (capturing == null) cached -= b.size;
        } else {
            b = driverAllocate(size, bytes, op);
            if (capturing != null) {
                b.pool = capturing;
                capturing.all.add(b);
            }
        }
        inUse += b.size;
        peak = Math.max(peak, inUse);
        return b;
    }

    private static Block take(TreeMap<Long, ArrayDeque<Block>> lists, long size) {
        Map.Entry<Long, ArrayDeque<Block>> e = lists.ceilingEntry(size);
        if (e == null || e.getKey() > 2 * size) return null;
        Block b = e.getValue().pop();  // most recently freed first: likely still in L2
        if (e.getValue().isEmpty()) lists.remove(e.getKey());
        return b;
    }

    private static void put(TreeMap<Long, ArrayDeque<Block>> lists, Block b) {
        lists.computeIfAbsent(b.size, k -> new ArrayDeque<>()).push(b);
    }

    private Block driverAllocate(long size, long requested, String op) {
        ctx.makeCurrent();
        long[] p = new long[1];
        int r = ctx.api.memAlloc(p, size);
        if (r == 2) {  // CUDA_ERROR_OUT_OF_MEMORY: give the cache back and try once more
            releaseCache();
            r = ctx.api.memAlloc(p, size);
            if (r == 2) {
                long[] freeMem = new long[1], total = new long[1];
                ctx.api.memGetInfo(freeMem, total);
                throw new CudaOutOfMemoryException(op + ": out of device memory on " + ctx.describe() + " allocating "
                        + mib(requested) + " (" + requested + " bytes); tensors hold " + mib(inUse) + ", the device has "
                        + mib(freeMem[0]) + " free of " + mib(total[0]) + " (other processes and contexts included)", requested);
            }
        }
        ctx.check(r, op, "cuMemAlloc(" + size + " bytes)");
        driverAllocs++;
        return new Block(p[0], size);
    }

    synchronized void release(Block b) {
        inUse -= b.size;
        if (b.pool == null && capturing != null) {
            // Freed inside a captured step, but allocated before it (an input the step consumed): every
            // replay still reads it, so it joins the graph's pool instead of the general cache.
            b.pool = capturing;
            capturing.all.add(b);
        }
        if (b.pool != null && !b.pool.closed) {
            put(b.pool.free, b);
        } else {
            b.pool = null;
            put(free, b);
            cached += b.size;
        }
    }

    /** Frees every cached (unused) block back to the driver. */
    synchronized void releaseCache() {
        ctx.makeCurrent();
        for (ArrayDeque<Block> q : free.values())
            for (Block b : q) ctx.api.memFree(b.address);
        free.clear();
        cached = 0;
    }

    synchronized void beginCapture(GraphPool pool) {
        if (capturing != null) throw new IllegalStateException("a CUDA graph capture is already in progress");
        capturing = pool;
    }

    synchronized void endCapture() { capturing = null; }

    synchronized boolean isCapturing() { return capturing != null; }

    /** The graph is gone: its free blocks join the general cache; live ones follow when released. */
    synchronized void closePool(GraphPool pool) {
        pool.closed = true;
        for (ArrayDeque<Block> q : pool.free.values())
            for (Block b : q) {
                b.pool = null;
                put(free, b);
                cached += b.size;
            }
        pool.free.clear();
    }

    synchronized CudaMemoryStats stats() {
        return new CudaMemoryStats(inUse, peak, cached, driverAllocs, cacheHits);
    }

    synchronized void resetPeak() { peak = inUse; }

    static String mib(long bytes) { return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0); }
}
