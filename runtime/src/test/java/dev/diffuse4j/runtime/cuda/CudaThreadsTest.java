package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Backends;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.diffuse4j.runtime.cuda.CudaTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backend used from threads other than the one that opened it, as a JVM application does (a
 * request pool, virtual threads). The driver binds a context per thread and answers a thread that
 * has none with CUDA_ERROR_INVALID_CONTEXT, so every path must make the context current first; the
 * allocator and the kernel table are shared. On a GPU, and over the stand-in libcuda.so.1 (which
 * refuses context-bound calls from a thread without a current context), this checks both.
 */
class CudaThreadsTest {
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);
    private CudaBackend cuda;

    @BeforeEach
    void open() { cuda = backendOrSkip(); }

    /** linear(x, w, b) then GELU, on CUDA, read back. */
    private static float[] onCuda(Tensor x, Tensor w, Tensor b) {
        try (Tensor y = Ops.linear(x, w, b); Tensor g = Ops.gelu(y); Tensor h = Ops.to(g, Device.cpu())) { return h.toFloatArray(); }
    }

    private static float[] onCpu(Tensor x, Tensor w, Tensor b) {
        try (Tensor y = Backends.cpu().linear(x, w, b); Tensor g = Ops.gelu(y)) { return g.toFloatArray(); }
    }

    @Test
    void tensorsMadeOnOneThreadAreUsedAndFreedOnOthers() throws Exception {
        Tensor hx = random(rnd, DType.F32, 37, 48), hw = random(rnd, DType.F32, 56, 48), hb = random(rnd, DType.F32, 56);
        Tensor x = Ops.to(hx, Device.cuda()), w = Ops.to(hw, Device.cuda()), b = Ops.to(hb, Device.cuda());
        float[] want = onCpu(hx, hw, hb);
        // A fresh platform thread and a virtual thread each compute and read back; a third frees the inputs.
        for (Thread.Builder builder : new Thread.Builder[]{Thread.ofPlatform(), Thread.ofVirtual()}) {
            float[][] got = new float[1][];
            Throwable[] failure = new Throwable[1];
            Thread t = builder.start(() -> {
                try { got[0] = onCuda(x, w, b); } catch (Throwable e) { failure[0] = e; }
            });
            t.join();
            if (failure[0] != null) throw new AssertionError(builder.getClass().getSimpleName() + " failed (seed " + seed + ")", failure[0]);
            assertTrue(relL2(want, got[0]) < 1e-5, "seed " + seed);
        }
        Thread closer = Thread.ofPlatform().start(() -> { x.close(); w.close(); b.close(); });
        closer.join();
        for (Tensor t : new Tensor[]{hx, hw, hb}) t.close();
    }

    @Test
    void concurrentCallersGetTheirOwnResults() throws Exception {
        int threads = 4, rounds = 6;
        long inUse = cuda.memoryStats().inUseBytes();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Void>> done = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                long s = seed + i;
                int rows = 17 + 9 * i;  // different sizes, so mixed-up results cannot pass
                done.add(pool.submit((Callable<Void>) () -> {
                    Random r = new Random(s);
                    for (int round = 0; round < rounds; round++) {
                        try (Tensor hx = random(r, DType.F16, rows, 40); Tensor hw = random(r, DType.F16, 24, 40); Tensor hb = random(r, DType.F32, 24);
                             Tensor x = Ops.to(hx, Device.cuda()); Tensor w = Ops.to(hw, Device.cuda()); Tensor b = Ops.to(hb, Device.cuda())) {
                            double err = relL2(onCpu(hx, hw, hb), onCuda(x, w, b));
                            assertTrue(err < tolerance(DType.F16), "seed " + s + " round " + round + ": rel L2 " + err);
                        }
                    }
                    return null;
                }));
            }
            for (Future<Void> f : done) f.get();
        } finally {
            pool.shutdownNow();
        }
        assertEquals(inUse, cuda.memoryStats().inUseBytes(), "device memory in use after every thread closed its tensors");
    }
}
