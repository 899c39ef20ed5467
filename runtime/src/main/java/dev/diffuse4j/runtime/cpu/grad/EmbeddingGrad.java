package dev.diffuse4j.runtime.cpu.grad;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cpu.Parallel;
import dev.diffuse4j.runtime.ops.BinaryOp;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** Adjoints of the gather-like ops: embedding (scatter-add into the table) and the MAX/MIN operand choice. */
public final class EmbeddingGrad {
    private EmbeddingGrad() {}

    public static Tensor embeddingBackward(Tensor dy, Tensor ids, int rows) {
        if (ids.dtype().isFloating()) throw new IllegalArgumentException("embeddingBackward: ids " + ids.describe() + " must be integers");
        int[] want = Arrays.copyOf(ids.shape(), ids.rank() + 1);
        int d = dy.dim(-1);
        want[ids.rank()] = d;
        if (!Arrays.equals(dy.shape(), want))
            throw new IllegalArgumentException("embeddingBackward: dy " + dy.describe() + " must be " + Arrays.toString(want) + " for ids " + ids.describe());
        long[] id = ids.toLongArray();
        Tensor out = Tensor.zeros(DType.F32, rows, d);
        MemorySegment os = out.cpuSegment();
        try (HostF32 ds = new HostF32("embeddingBackward", "dy", dy)) {
            for (long r : id) if (r < 0 || r >= rows) throw new IllegalArgumentException("embeddingBackward: id " + r + " is outside [0, " + rows + ")");
            // parallel over columns: each task owns a stretch of every table row, so no two tasks add to one element
            Parallel.forRange(d, 64, (lo, hi) -> {
                for (int t = 0; t < id.length; t++) {
                    long dst = (id[t] * d) * 4, src = (long) t * d;
                    for (int j = lo; j < hi; j++) os.set(HostF32.F, dst + 4L * j, os.get(HostF32.F, dst + 4L * j) + ds.get(src + j));
                }
            });
        }
        return out;
    }

    /** 1 where {@code a} is MAX/MIN's choice (ties to a), in the broadcast shape of a and b. Scalar reads: a rare op. */
    public static Tensor selectsFirst(BinaryOp op, Tensor a, Tensor b) {
        if (op != BinaryOp.MAX && op != BinaryOp.MIN) throw new IllegalArgumentException("selectsFirst: " + op + " is not MAX or MIN");
        int r = Math.max(a.rank(), b.rank());
        int[] shape = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i - (r - a.rank()) >= 0 ? a.dim(i - (r - a.rank())) : 1, db = i - (r - b.rank()) >= 0 ? b.dim(i - (r - b.rank())) : 1;
            if (da != db && da != 1 && db != 1)
                throw new IllegalArgumentException("selectsFirst: " + a.describe() + " and " + b.describe() + " do not broadcast");
            shape[i] = Math.max(da, db);
        }
        Tensor out = Tensor.zeros(DType.F32, shape);
        long n = out.numel();
        for (long i = 0; i < n; i++) {
            float va = a.getFloat(project(i, shape, a.shape())), vb = b.getFloat(project(i, shape, b.shape()));
            boolean first = op == BinaryOp.MAX ? va >= vb : va <= vb;
            out.setFloat(i, first ? 1f : 0f);
        }
        return out;
    }

    /** Flat index into a tensor of shape {@code small} that broadcasts to {@code full}, for flat index i of full. */
    private static long project(long i, int[] full, int[] small) {
        long idx = 0, mul = 1;
        for (int d = full.length - 1, s = small.length - 1; d >= 0; d--, s--) {
            int coord = (int) (i % full[d]);
            i /= full[d];
            if (s >= 0) {
                if (small[s] != 1) idx += coord * mul;
                mul *= small[s];
            }
        }
        return idx;
    }
}
