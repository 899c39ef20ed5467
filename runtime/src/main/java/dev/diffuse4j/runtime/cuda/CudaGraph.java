package dev.diffuse4j.runtime.cuda;

/**
 * A captured sequence of ops (typically one denoising step) that replays with one launch, removing
 * the per-kernel host cost. Created by {@link CudaBackend#capture}; owns a private memory pool that
 * holds the step's intermediate and output tensors across replays.
 *
 * <pre>{@code
 * CudaBackend cuda = CudaBackend.get();
 * step.run();                                  // warm-up, uncaptured
 * try (CudaGraph g = cuda.capture(step)) {     // step reads static inputs, writes static outputs
 *     for (...) { cuda.copyInto(newLatent, latentIn); g.replay(); ... read outputs ... }
 * }
 * }</pre>
 */
public final class CudaGraph implements AutoCloseable {
    private static final int CU_STREAM_CAPTURE_MODE_RELAXED = 2;

    private final CudaBackend be;
    private final CudaAllocator.GraphPool pool;
    private final long graph, exec;
    private boolean closed;

    private CudaGraph(CudaBackend be, CudaAllocator.GraphPool pool, long graph, long exec) {
        this.be = be;
        this.pool = pool;
        this.graph = graph;
        this.exec = exec;
    }

    static CudaGraph capture(CudaBackend be, Runnable step) {
        if (be.ctx.syncEachLaunch)
            throw new IllegalStateException("cuda graph capture: turn off -Dd4j.cuda.sync (a stream cannot be synchronised while it is captured)");
        CudaContext ctx = be.ctx;
        DriverApi api = ctx.api;
        ctx.makeCurrent();
        CudaAllocator.GraphPool pool = new CudaAllocator.GraphPool();
        be.allocator.beginCapture(pool);
        long[] graph = new long[1];
        boolean capturing = false;
        try {
            ctx.check(api.streamBeginCapture(ctx.stream, CU_STREAM_CAPTURE_MODE_RELAXED), "cuda graph capture", "cuStreamBeginCapture");
            capturing = true;
            RuntimeException failure = null;
            try {
                step.run();
            } catch (RuntimeException e) {
                failure = e;
            }
            capturing = false;
            int r = api.streamEndCapture(ctx.stream, graph);
            if (failure != null) {
                if (r == 0) api.graphDestroy(graph[0]);
                throw failure;
            }
            ctx.check(r, "cuda graph capture", "cuStreamEndCapture (an op in the step is not capturable, e.g. a host copy)");
            long[] exec = new long[1];
            int ri = api.graphInstantiate(exec, graph[0]);
            if (ri != 0) {
                api.graphDestroy(graph[0]);
                ctx.check(ri, "cuda graph capture", "cuGraphInstantiate");
            }
            return new CudaGraph(be, pool, graph[0], exec[0]);
        } catch (RuntimeException e) {
            if (capturing && api.streamEndCapture(ctx.stream, graph) == 0) api.graphDestroy(graph[0]);
            be.allocator.closePool(pool);
            throw e;
        } finally {
            be.allocator.endCapture();
        }
    }

    /** Queues one replay of the captured ops on the backend's stream (asynchronous, like any op). */
    public void replay() {
        if (closed) throw new IllegalStateException("replay of a closed CUDA graph");
        be.ctx.makeCurrent();
        be.ctx.check(be.ctx.api.graphLaunch(exec, be.ctx.stream), "cuda graph replay", "cuGraphLaunch");
        if (be.ctx.syncEachLaunch) be.ctx.synchronize("cuda graph replay");
    }

    /** Frees the graph; its pool's memory returns to the allocator as the step's tensors are closed. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        be.ctx.synchronize("cuda graph close");
        be.ctx.api.graphExecDestroy(exec);
        be.ctx.api.graphDestroy(graph);
        be.allocator.closePool(pool);
    }
}
