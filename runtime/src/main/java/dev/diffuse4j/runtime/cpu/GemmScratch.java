package dev.diffuse4j.runtime.cpu;

/**
 * Per-thread packing buffers, kept between calls so a GEMM allocates nothing in the steady state:
 * the packed A block of the current task, the packed B block (shared with the pool's workers while
 * the calling thread drives a parallel GEMM), the row scratch of one panel, and one C tile.
 */
final class GemmScratch {
    private static final ThreadLocal<GemmScratch> LOCAL = ThreadLocal.withInitial(GemmScratch::new);

    private float[] a = new float[0], b = new float[0], panel = new float[0];
    final float[] tile = new float[GemmKernel.MR * GemmKernel.NR];

    private GemmScratch() {}

    static GemmScratch get() { return LOCAL.get(); }

    float[] a(int n) { return a.length >= n ? a : (a = new float[n]); }

    float[] b(int n) { return b.length >= n ? b : (b = new float[n]); }

    float[] panel(int width, int depth) {
        int n = PanelSource.scratchSize(width, depth);
        return panel.length >= n ? panel : (panel = new float[n]);
    }
}
