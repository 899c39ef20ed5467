package dev.diffuse4j.runtime.cpu;

import static dev.diffuse4j.runtime.cpu.GemmKernel.MR;
import static dev.diffuse4j.runtime.cpu.GemmKernel.NR;

/**
 * The blocked GEMM loop nest (BLIS-style): C[M, N] (+)= A[M, K] B[K, N] over {@link PanelSource}s.
 *
 * <pre>
 * for each column block jc of at most NC columns
 *   for each depth block pc (K split into equal blocks of at most KC)
 *     pack B[pc, jc] into NR-wide panels                  (shared, packed in parallel)
 *     in parallel over tasks = (row block of at most MC rows) x (slice of the B panels):
 *       pack the task's A rows into MR-high panels         (per-thread scratch)
 *       for each chunk of B panels that fits in L2 (L2_BYTES)
 *         for each A panel (KC x MR, stays in L1)
 *           for each B panel of the chunk: micro-kernel, epilogue into C
 * </pre>
 *
 * A and B are each packed once per call (A again per extra column block or column slice, which
 * only happens for N > NC or small M). The first depth block writes C (with bias); later ones add.
 * Tasks: about four per thread, so the pool can balance them; rows are split first, the B panels
 * only when there are too few row blocks (small M).
 */
final class GemmDriver {
    /** Depth block: an A panel is 384 x 8 floats = 12 KB (L1), a B panel 48 KB (L2). */
    static final int KC = Integer.getInteger("d4j.gemm.kc", 384);
    /** Row block per task (packed A: 256 x KC floats = 384 KB). */
    static final int MC = Integer.getInteger("d4j.gemm.mc", 256);
    /** Bytes of packed B one core keeps hot in its L2 while A panels sweep across it. */
    static final int L2_BYTES = Integer.getInteger("d4j.gemm.l2", 512 * 1024);
    /** Column block: bounds the shared packed B (KC x NC floats = 6 MB). */
    static final int NC = Integer.getInteger("d4j.gemm.nc", 4096);
    /** Below this many flops a GEMM runs on the calling thread (a fork-join round trip costs ~10 us). */
    static final double PARALLEL_FLOPS = 2e6;

    private GemmDriver() {}

    /** Whether a GEMM of this size is worth spreading over the pool. */
    static boolean worthParallel(long m, long n, long k) {
        return Parallel.threads() > 1 && 2.0 * m * n * Math.max(k, 1) >= PARALLEL_FLOPS;
    }

    /**
     * Computes C = A B through {@code c}'s epilogue. {@code parallel} spreads the work over
     * {@link Parallel}; false runs everything on the calling thread.
     */
    static void run(int m, int n, int k, PanelSource a, PanelSource b, GemmOutput c, boolean parallel) {
        if (m == 0 || n == 0) return;
        int threads = parallel ? Parallel.threads() : 1;
        int kBlocks = Math.max(1, ceilDiv(k, KC));
        int kcMax = ceilDiv(k, kBlocks);
        int ncMax = roundUp(ceilDiv(n, ceilDiv(n, roundUp(NC, NR))), NR);
        GemmScratch own = GemmScratch.get();
        for (int jc = 0; jc < n; jc += ncMax) {
            int nc = Math.min(ncMax, n - jc);
            int nPanels = ceilDiv(nc, NR);
            for (int kb = 0; kb < kBlocks; kb++) {
                int pc = (int) ((long) kb * k / kBlocks);
                int kc = (int) ((long) (kb + 1) * k / kBlocks) - pc;
                float[] bPack = own.b(nPanels * NR * kc);
                packB(b, jc, nc, nPanels, pc, kc, bPack, threads);
                multiplyBlock(m, a, pc, kc, kcMax, jc, nc, nPanels, bPack, c, kb == 0, threads);
            }
        }
    }

    private static void packB(PanelSource b, int jc, int nc, int nPanels, int pc, int kc, float[] bPack, int threads) {
        Parallel.RangeBody body = (lo, hi) -> b.packPanels(jc + lo * NR, Math.min(nc, hi * NR) - lo * NR, NR, pc, kc,
                bPack, lo * NR * kc, GemmScratch.get().panel(NR, kc));
        if (threads > 1) Parallel.forRange(nPanels, 2, body);
        else body.run(0, nPanels);
    }

    private static void multiplyBlock(int m, PanelSource a, int pc, int kc, int kcMax, int jc, int nc, int nPanels,
                                      float[] bPack, GemmOutput c, boolean firstK, int threads) {
        int mPanels = ceilDiv(m, MR);
        int target = threads > 1 ? 4 * threads : 1;
        int mcPanels = Math.max(1, Math.min(MC / MR, ceilDiv(mPanels, target)));
        int mTasks = ceilDiv(mPanels, mcPanels);
        int nPerTask = ceilDiv(nPanels, Math.min(nPanels, Math.max(1, ceilDiv(target, mTasks))));
        int nTasks = ceilDiv(nPanels, nPerTask);
        int nbL2 = Math.max(1, L2_BYTES / (NR * Math.max(kc, 1) * 4));
        Parallel.RangeBody body = (lo, hi) -> {
            GemmScratch s = GemmScratch.get();
            float[] aPack = s.a(mcPanels * MR * kcMax);
            float[] panel = s.panel(MR, kc);
            for (int t = lo; t < hi; t++) {
                int i0 = (t / nTasks) * mcPanels * MR, i1 = Math.min(m, i0 + mcPanels * MR);
                int p0 = (t % nTasks) * nPerTask, p1 = Math.min(nPanels, p0 + nPerTask);
                int ip = ceilDiv(i1 - i0, MR);
                for (int q = 0; q < ip; q++)
                    a.pack(i0 + q * MR, Math.min(MR, i1 - i0 - q * MR), MR, pc, kc, aPack, q * MR * kc, panel);
                // a chunk of B panels stays in L2 while each A panel (in L1) sweeps across it
                for (int pc0 = p0; pc0 < p1; pc0 += nbL2) {
                    int pc1 = Math.min(p1, pc0 + nbL2);
                    for (int q = 0; q < ip; q++) {
                        int rows = Math.min(MR, i1 - i0 - q * MR);
                        for (int p = pc0; p < pc1; p++) {
                            c.multiply(kc, aPack, q * MR * kc, bPack, p * NR * kc, s.tile, i0 + q * MR, jc + p * NR, rows,
                                    Math.min(NR, nc - p * NR), firstK);
                        }
                    }
                }
            }
        };
        int tasks = mTasks * nTasks;
        if (threads > 1) Parallel.forRange(tasks, 1, body);
        else body.run(0, tasks);
    }

    static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    static int roundUp(int a, int b) { return ceilDiv(a, b) * b; }
}
