package dev.diffuse4j.runtime.cpu;

import java.util.ArrayList;
import java.util.List;

/**
 * Iteration over several strided operands that share one logical shape (element offsets per
 * operand; a broadcast operand has stride 0). The shape is seen as rows of an inner run: size-1
 * dimensions are dropped and neighbours that every operand lays out contiguously are merged, so a
 * contiguous tensor is a single run, [B,H,W,C] + [B,1,1,C] becomes rows of C over [B, H*W], and a
 * scalar operand is a run with stride 0.
 */
final class Walk {
    /** Collapsed outer dimensions (the rows), outermost first. */
    final int[] outer;
    /** [operand][outer dim] strides. */
    final long[][] outerStrides;
    /** Start offset of each operand. */
    final long[] base;
    /** Length of the inner run and each operand's stride along it. */
    final int inner;
    final long[] innerStride;
    final long rows;

    private Walk(int[] outer, long[][] outerStrides, long[] base, int inner, long[] innerStride) {
        this.outer = outer;
        this.outerStrides = outerStrides;
        this.base = base;
        this.inner = inner;
        this.innerStride = innerStride;
        long r = 1;
        for (int s : outer) r *= s;
        this.rows = r;
    }

    /** Elementwise walk: every dimension may merge into the inner run. */
    static Walk flat(int[] shape, long[] base, long[]... strides) { return build(shape, false, base, strides); }

    /** Row walk: the last dimension is the inner run as it is (for ops that work along it). */
    static Walk rows(int[] shape, long[] base, long[]... strides) { return build(shape, true, base, strides); }

    private static Walk build(int[] shape, boolean keepLast, long[] base, long[][] strides) {
        int ops = strides.length;
        int rank = shape.length;
        int outerRank = keepLast && rank > 0 ? rank - 1 : rank;
        List<int[]> dims = new ArrayList<>(); // {size}; a merge multiplies into the last entry
        List<long[]> st = new ArrayList<>();
        for (int d = 0; d < outerRank; d++) {
            if (shape[d] == 1) continue;
            long[] sd = new long[ops];
            for (int k = 0; k < ops; k++) sd[k] = strides[k][d];
            if (!dims.isEmpty()) {
                int[] prev = dims.getLast();
                long[] ps = st.getLast();
                boolean merge = true;
                for (int k = 0; k < ops && merge; k++) merge = ps[k] == sd[k] * shape[d];
                if (merge) {
                    prev[0] *= shape[d];
                    st.set(st.size() - 1, sd);
                    continue;
                }
            }
            dims.add(new int[]{shape[d]});
            st.add(sd);
        }
        int inner;
        long[] innerStride = new long[ops];
        if (keepLast && rank > 0) {
            inner = shape[rank - 1];
            for (int k = 0; k < ops; k++) innerStride[k] = strides[k][rank - 1];
        } else if (dims.isEmpty()) {
            inner = shape.length == 0 || allOnes(shape) ? 1 : 0;
        } else {
            inner = dims.removeLast()[0];
            innerStride = st.removeLast();
        }
        for (int s : shape) if (s == 0) inner = 0;
        int[] outer = new int[dims.size()];
        long[][] os = new long[ops][dims.size()];
        for (int i = 0; i < outer.length; i++) {
            outer[i] = dims.get(i)[0];
            for (int k = 0; k < ops; k++) os[k][i] = st.get(i)[k];
        }
        return new Walk(outer, os, base.clone(), inner, innerStride);
    }

    private static boolean allOnes(int[] shape) {
        for (int s : shape) if (s != 1) return false;
        return true;
    }

    /** Position in the row space: the start offset of the current row for every operand. */
    final class Cursor {
        final long[] off = new long[base.length];
        private final int[] idx = new int[outer.length];

        /** Moves to row {@code row} (row-major over the outer dimensions). */
        void seek(long row) {
            System.arraycopy(base, 0, off, 0, base.length);
            for (int d = outer.length - 1; d >= 0; d--) {
                int i = (int) (row % outer[d]);
                row /= outer[d];
                idx[d] = i;
                for (int k = 0; k < off.length; k++) off[k] += i * outerStrides[k][d];
            }
        }

        /** Advances to the next row. */
        void next() {
            for (int d = outer.length - 1; d >= 0; d--) {
                if (++idx[d] < outer[d]) {
                    for (int k = 0; k < off.length; k++) off[k] += outerStrides[k][d];
                    return;
                }
                idx[d] = 0;
                for (int k = 0; k < off.length; k++) off[k] -= (long) (outer[d] - 1) * outerStrides[k][d];
            }
        }
    }

    Cursor cursor() { return new Cursor(); }

    @FunctionalInterface
    interface TileBody {
        /** One piece of a row: {@code at[k]} is operand k's offset of element {@code col} of row {@code row}. */
        void run(long row, int col, int len, long[] at);
    }

    /** Element count below which a task is not worth forking. */
    static final int MIN_TASK = 1 << 15;

    /**
     * Runs {@code body} over every row, cut into pieces of at most {@code chunk} elements, in parallel
     * tasks of about {@code MIN_TASK} elements or more.
     */
    void forEachTile(int chunk, TileBody body) {
        if (rows == 0 || inner == 0) return;
        int piece = Math.max(1, Math.min(chunk, inner));
        int perRow = (inner + piece - 1) / piece;
        long tiles = rows * perRow;
        if (tiles > Integer.MAX_VALUE) throw new IllegalStateException("tensor too large to tile: " + rows + " rows of " + inner);
        int grain = Math.max(1, MIN_TASK / piece);
        Parallel.forRange((int) tiles, grain, (lo, hi) -> {
            Cursor c = new Cursor();
            long[] at = new long[base.length];
            long row = lo / perRow;
            c.seek(row);
            for (int t = lo; t < hi; t++) {
                long r = t / perRow;
                if (r != row) {
                    c.next();
                    row = r;
                }
                int col = (t - (int) (r * perRow)) * piece;
                for (int k = 0; k < at.length; k++) at[k] = c.off[k] + col * innerStride[k];
                body.run(r, col, Math.min(piece, inner - col), at);
            }
        });
    }

    /** Runs {@code body} over whole rows, in parallel. */
    void forEachRow(TileBody body) { forEachTile(Integer.MAX_VALUE, body); }
}
