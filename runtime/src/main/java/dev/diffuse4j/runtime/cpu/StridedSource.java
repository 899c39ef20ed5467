package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * A GEMM operand held in memory with arbitrary element strides: X[p][k] at
 * {@code offset + p*laneStride + k*depthStride}, in a host segment (F32/F16/BF16) or a float array.
 * Two layouts are fast: depth-contiguous rows (row-major A, or the [out, in] weight of a linear
 * layer seen as B), which are loaded row by row and transposed; and lane-contiguous columns (B
 * [K, N] row-major, or a transposed A), which are copied k-row by k-row.
 */
final class StridedSource implements PanelSource {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

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
                Panels.transpose(arr, (int) first, (int) laneStride, lanes, depth, dst, dstOff, width, scratch);
            } else {
                // rows into scratch after the transpose's own 128-float corner, then transpose
                int rows = 128;
                for (int r = 0; r < lanes; r++) loadRow(first + r * laneStride, 1, scratch, rows + r * depth, depth);
                Panels.transpose(scratch, rows, depth, lanes, depth, dst, dstOff, width, scratch);
            }
        } else if (laneStride == 1 && dtype == DType.F32) {
            copyColumns(first, lanes, width, depth, dst, dstOff);
        } else {
            // general strides (and lane-contiguous F16/BF16): gather each k-row of `lanes` values
            for (int k = 0; k < depth; k++) {
                int d = dstOff + k * width;
                loadRow(first + k * depthStride, laneStride, dst, d, lanes);
                for (int r = lanes; r < width; r++) dst[d + r] = 0f;
            }
        }
    }

    /** Lane-contiguous F32: each k-row of the panel is a run of {@code lanes} consecutive values. */
    private void copyColumns(long first, int lanes, int width, int depth, float[] dst, int dstOff) {
        for (int k = 0; k < depth; k++) {
            long src = first + k * depthStride;
            int d = dstOff + k * width;
            for (int j = 0; j < width; j += L) {
                VectorMask<Float> m = F.indexInRange(j, Math.min(lanes, j + L)); // unset lanes load as zero
                FloatVector v = arr != null
                        ? FloatVector.fromArray(F, arr, (int) src + j, m)
                        : FloatVector.fromMemorySegment(F, seg, (src + j) * 4, ByteOrder.nativeOrder(), m);
                if (j + L <= width) v.intoArray(dst, d + j);
                else v.intoArray(dst, d + j, F.indexInRange(j, width));
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
