package dev.diffuse4j.runtime.cuda;

import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.JCudaDriver;

import static dev.diffuse4j.runtime.cuda.CudaDriver.check;

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
    private final CUgraph graph;
    private final CUgraphExec exec;
    private boolean closed;

    private CudaGraph(CudaBackend be, CudaAllocator.GraphPool pool, CUgraph graph, CUgraphExec exec) {
        this.be = be;
        this.pool = pool;
        this.graph = graph;
        this.exec = exec;
    }

    static CudaGraph capture(CudaBackend be, Runnable step) {
        if (be.ctx.syncEachLaunch)
            throw new IllegalStateException("cuda graph capture: turn off -Dd4j.cuda.sync (a stream cannot be synchronised while it is captured)");
        CudaContext ctx = be.ctx;
        ctx.makeCurrent();
        CudaAllocator.GraphPool pool = new CudaAllocator.GraphPool();
        be.allocator.beginCapture(pool);
        CUgraph graph = new CUgraph();
        boolean capturing = false;
        try {
            check(JCudaDriver.cuStreamBeginCapture(ctx.stream, CU_STREAM_CAPTURE_MODE_RELAXED), "cuda graph capture", "cuStreamBeginCapture");
            capturing = true;
            RuntimeException failure = null;
            try {
                step.run();
            } catch (RuntimeException e) {
                failure = e;
            }
            capturing = false;
            int r = JCudaDriver.cuStreamEndCapture(ctx.stream, graph);
            if (failure != null) {
                if (r == 0) JCudaDriver.cuGraphDestroy(graph);
                throw failure;
            }
            check(r, "cuda graph capture", "cuStreamEndCapture (an op in the step is not capturable, e.g. a host copy)");
            CUgraphExec exec = new CUgraphExec();
            int ri = JCudaDriver.cuGraphInstantiate(exec, graph, 0L);
            if (ri != 0) {
                JCudaDriver.cuGraphDestroy(graph);
                check(ri, "cuda graph capture", "cuGraphInstantiate");
            }
            return new CudaGraph(be, pool, graph, exec);
        } catch (RuntimeException e) {
            if (capturing) JCudaDriver.cuStreamEndCapture(ctx.stream, new CUgraph());
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
        check(JCudaDriver.cuGraphLaunch(exec, be.ctx.stream), "cuda graph replay", "cuGraphLaunch");
        if (be.ctx.syncEachLaunch) be.ctx.synchronize("cuda graph replay");
    }

    /** Frees the graph; its pool's memory returns to the allocator as the step's tensors are closed. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        be.ctx.synchronize("cuda graph close");
        JCudaDriver.cuGraphExecDestroy(exec);
        JCudaDriver.cuGraphDestroy(graph);
        be.allocator.closePool(pool);
    }
}
