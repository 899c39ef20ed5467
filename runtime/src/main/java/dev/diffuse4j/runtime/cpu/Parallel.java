package dev.diffuse4j.runtime.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * The CPU backend's thread pool: one worker per core (override with -Dd4j.threads=N). Work is split
 * into contiguous index ranges; callers pick a grain so each task does enough work to pay for itself.
 */
public final class Parallel {
    private static final int THREADS = Integer.getInteger("d4j.threads", Runtime.getRuntime().availableProcessors());
    private static final ForkJoinPool POOL = THREADS > 1 ? new ForkJoinPool(THREADS) : null;

    private Parallel() {}

    public static int threads() { return THREADS; }

    @FunctionalInterface
    public interface RangeBody {
        void run(int lo, int hi);
    }

    /** Runs {@code body} over [0, n) in chunks of at least {@code grain} indices, in parallel. */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        grain = Math.max(1, grain);
        int chunks = Math.min(THREADS * 4, (n + grain - 1) / grain);
        if (POOL == null || chunks <= 1 || inWorker()) {
            body.run(0, n);
            return;
        }
        int per = (n + chunks - 1) / chunks;
        POOL.invoke(new Split(body, 0, n, per));
    }

    /** Runs {@code tasks} bodies (task index 0..tasks-1) in parallel, one index per task. */
    public static void forEach(int tasks, java.util.function.IntConsumer body) {
        forRange(tasks, 1, (lo, hi) -> {
            for (int i = lo; i < hi; i++) body.accept(i);
        });
    }

    private static boolean inWorker() {
        return Thread.currentThread() instanceof java.util.concurrent.ForkJoinWorkerThread w && w.getPool() == POOL;
    }

    private static final class Split extends RecursiveAction {
        private final RangeBody body;
        private final int lo, hi, per;

        Split(RangeBody body, int lo, int hi, int per) {
            this.body = body;
            this.lo = lo;
            this.hi = hi;
            this.per = per;
        }

        @Override
        protected void compute() {
            if (hi - lo <= per) {
                body.run(lo, hi);
                return;
            }
            int mid = lo + ((hi - lo) / per / 2) * per;
            if (mid <= lo) mid = lo + per;
            invokeAll(new Split(body, lo, mid, per), new Split(body, mid, hi, per));
        }
    }
}
