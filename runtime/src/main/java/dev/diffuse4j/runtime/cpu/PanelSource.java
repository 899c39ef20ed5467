package dev.diffuse4j.runtime.cpu;

/**
 * A GEMM operand seen as a logical matrix X[lane][depth] that the driver packs into panels: for A
 * the lanes are the rows of C (X = A), for B they are the columns of C (X = B^T). Depth is the
 * reduction index k. Implementations widen F16/BF16 to F32 while packing and may read any layout
 * (strided tensors, float arrays, the implicit im2col matrix of a convolution).
 */
interface PanelSource {
    /**
     * Packs one panel: {@code dst[dstOff + k*width + r] = X[p0 + r][k0 + k]} for {@code r < lanes},
     * zero for {@code lanes <= r < width}, for every {@code k < depth}.
     *
     * @param scratch at least {@link #scratchSize scratchSize(width, depth)} floats to use freely
     */
    void pack(int p0, int lanes, int width, int k0, int depth, float[] dst, int dstOff, float[] scratch);

    /**
     * Packs {@code ceil(lanes / width)} consecutive panels (lanes p0 .. p0+lanes), panel i at
     * {@code dstOff + i*width*depth}. Sources that read whole rows across panels override this.
     */
    default void packPanels(int p0, int lanes, int width, int k0, int depth, float[] dst, int dstOff, float[] scratch) {
        for (int i = 0; i * width < lanes; i++)
            pack(p0 + i * width, Math.min(width, lanes - i * width), width, k0, depth, dst, dstOff + i * width * depth, scratch);
    }

    /** Scratch floats {@link #pack} and {@link #packPanels} may need: the rows of one panel. */
    static int scratchSize(int width, int depth) { return width * depth; }
}
