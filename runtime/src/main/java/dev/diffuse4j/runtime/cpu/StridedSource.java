package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * A GEMM operand held in memory with arbitrary element strides: X[p][k] at
 * {@code offset + p*laneStride + k*depthStride}, in a host segment (F32/F16/BF16) or a float array.
 * Two layouts are fast: depth-contiguous rows (row-major A, or the [out, in] weight of a linear
 * layer seen as B), which are loaded row by row and transposed; and lane-contiguous columns (B
 * [K, N] row-major, or a transposed A), which are copied k-row by k-row across all panels.
 */
final class StridedSource implements PanelSource {
    private final MemorySegment seg; // null for array operands
    private final float[] arr;       // null for segment operands
    private final DType dtype;
    private final long offset, laneStride, depthStride;

    private StridedSource(MemorySegment seg, float[] arr, DType dtype, long offset, long laneStride, long depthStride) {
        this.seg = seg;
        this.arr = arr;
        this.dtype = dtype;
        this.offset = offset;
        this.laneStride = laneStride;
        this.depthStride = depthStride;
    }

    /** Elements of a host tensor's storage (F32/F16/BF16), addressed from {@code offset} in elements. */
    static StridedSource of(Tensor t, long offset, long laneStride, long depthStride) {
        return new StridedSource(t.cpuSegment(), null, t.dtype(), offset, laneStride, depthStride);
    }

    /** Elements of a host segment holding {@code dtype} values. */
    static StridedSource of(MemorySegment seg, DType dtype, long offset, long laneStride, long depthStride) {
        return new StridedSource(seg, null, dtype, offset, laneStride, depthStride);
    }

    static StridedSource of(float[] a, long offset, long laneStride, long depthStride) {
        return new StridedSource(null, a, DType.F32, offset, laneStride, depthStride);
    }

    @Override
    public void pack(int p0, int lanes, int width, int k0, int depth, float[] dst, int dstOff, float[] scratch) {
        if (depth == 0) return;
        long first = offset + p0 * laneStride + k0 * depthStride;
        if (depthStride == 1 && lanes > 1) {
            if (arr != null && laneStride <= Integer.MAX_VALUE) {
                Panels.transpose(arr, (int) first, (int) laneStride, lanes, depth, dst, dstOff, width);
            } else {
                for (int r = 0; r < lanes; r++) loadRow(first + r * laneStride, 1, scratch, r * depth, depth);
                Panels.transpose(scratch, 0, depth, lanes, depth, dst, dstOff, width);
            }
        } else {
            // lane-contiguous or general strides: gather each k-row of `lanes` values
            for (int k = 0; k < depth; k++) {
                int d = dstOff + k * width;
                loadRow(first + k * depthStride, laneStride, dst, d, lanes);
                for (int r = lanes; r < width; r++) dst[d + r] = 0f;
            }
        }
    }

    /**
     * Lane-contiguous operands (B [K, N] row-major, A stored transposed) read each k-row across all
     * the panels with one copy, then deal it out; the rest pack panel by panel.
     */
    @Override
    public void packPanels(int p0, int lanes, int width, int k0, int depth, float[] dst, int dstOff, float[] scratch) {
        if (laneStride != 1 || depthStride == 1 || lanes <= width || depth == 0) {
            PanelSource.super.packPanels(p0, lanes, width, k0, depth, dst, dstOff, scratch);
            return;
        }
        int group = Math.max(1, scratch.length / width) * width; // lanes per pass through scratch
        for (int g0 = 0; g0 < lanes; g0 += group) {
            int n = Math.min(group, lanes - g0);
            for (int k = 0; k < depth; k++) {
                loadRow(offset + (p0 + g0) + (long) (k0 + k) * depthStride, 1, scratch, 0, n);
                for (int q = 0; q < n; q += width) {
                    int d = dstOff + (g0 + q) / width * width * depth + k * width;
                    int m = Math.min(width, n - q);
                    System.arraycopy(scratch, q, dst, d, m);
                    for (int r = m; r < width; r++) dst[d + r] = 0f;
                }
            }
        }
    }

    private void loadRow(long elem, long stride, float[] dst, int off, int n) {
        if (arr != null) {
            if (stride == 1) System.arraycopy(arr, (int) elem, dst, off, n);
            else for (int i = 0; i < n; i++) dst[off + i] = arr[(int) (elem + i * stride)];
        } else {
            Panels.loadStrided(seg, dtype, elem * dtype.byteSize(), stride, dst, off, n);
        }
    }
}
