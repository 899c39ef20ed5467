package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Shapes;
import dev.diffuse4j.runtime.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Matrix products on the CPU: {@code matmul} and {@code linear} of the ops SPI, and a
 * single-threaded {@code sgemm} for other kernels (attention runs small GEMMs inside its own
 * parallel tasks).
 *
 * <p>Engine: {@link GemmDriver} (blocking and threads) over {@link PanelSource} operands
 * ({@link StridedSource} for tensors and arrays of any strides, F16/BF16 widened while packing),
 * the 8 x 32 {@link GemmKernel}, and the {@link GemmOutput} epilogue (bias, residual, alpha/beta).
 *
 * <h2>sgemm</h2>
 * {@code C = alpha * op(A) op(B) + beta * C} with op(A) [M, K], op(B) [K, N], C [M, N], row-major
 * with leading dimensions: A(i, k) is {@code a[aOff + i*lda + k]}, or {@code a[aOff + k*lda + i]}
 * when {@code transA}; B(k, j) is {@code b[bOff + k*ldb + j]}, or {@code b[bOff + j*ldb + k]} when
 * {@code transB}; C(i, j) is {@code c[cOff + i*ldc + j]}. beta = 0 ignores C's old contents (NaN
 * included). It runs on the calling thread and allocates nothing after warm-up (per-thread packing
 * buffers), so it can be called from inside {@link Parallel} tasks. The same on F32
 * {@link MemorySegment}s with element offsets.
 */
public final class Gemm {
    private Gemm() {}

    // ---------------------------------------------------------------- sgemm (single-threaded)

    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        checkSgemm(transA, transB, m, n, k, aOff, lda, a.length, bOff, ldb, b.length, cOff, ldc, c.length);
        if (m == 0 || n == 0) return;
        StridedSource sa = transA ? StridedSource.of(a, aOff, 1, lda) : StridedSource.of(a, aOff, lda, 1);
        StridedSource sb = transB ? StridedSource.of(b, bOff, ldb, 1) : StridedSource.of(b, bOff, 1, ldb);
        GemmDriver.run(m, n, k, sa, sb, GemmOutput.array(c, cOff, ldc, alpha, beta), false);
    }

    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             MemorySegment a, long aOff, long lda, MemorySegment b, long bOff, long ldb,
                             float beta, MemorySegment c, long cOff, long ldc) {
        checkSgemm(transA, transB, m, n, k, aOff, lda, a.byteSize() / 4, bOff, ldb, b.byteSize() / 4, cOff, ldc, c.byteSize() / 4);
        if (m == 0 || n == 0) return;
        StridedSource sa = transA ? StridedSource.of(a, DType.F32, aOff, 1, lda) : StridedSource.of(a, DType.F32, aOff, lda, 1);
        StridedSource sb = transB ? StridedSource.of(b, DType.F32, bOff, ldb, 1) : StridedSource.of(b, DType.F32, bOff, 1, ldb);
        GemmDriver.run(m, n, k, sa, sb, GemmOutput.segment(c, cOff, ldc, alpha, beta), false);
    }

    private static void checkSgemm(boolean transA, boolean transB, int m, int n, int k, long aOff, long lda, long aLen,
                                   long bOff, long ldb, long bLen, long cOff, long ldc, long cLen) {
        String call = "sgemm(transA=" + transA + ", transB=" + transB + ", M=" + m + ", N=" + n + ", K=" + k
                + ", lda=" + lda + ", ldb=" + ldb + ", ldc=" + ldc + ")";
        if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException(call + ": negative size");
        if (lda < (transA ? m : k) || ldb < (transB ? k : n) || ldc < n)
            throw new IllegalArgumentException(call + ": a leading dimension is smaller than its row");
        if (m == 0 || n == 0) return;
        checkExtent(call, "A", aOff, transA ? k : m, lda, transA ? m : k, aLen);
        checkExtent(call, "B", bOff, transB ? n : k, ldb, transB ? k : n, bLen);
        checkExtent(call, "C", cOff, m, ldc, n, cLen);
    }

    private static void checkExtent(String call, String name, long off, long rows, long ld, long cols, long len) {
        if (rows == 0 || cols == 0) return;
        long last = off + (rows - 1) * ld + cols - 1;
        if (off < 0 || last >= len)
            throw new IllegalArgumentException(call + ": " + name + " needs elements [" + off + ", " + last + "] but holds " + len);
    }

    // ---------------------------------------------------------------- ops

    /** The SPI's batched matmul; see {@link dev.diffuse4j.runtime.ops.Backend#matmul}. */
    static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        String call = "matmul(" + a.describe() + (transA ? "^T" : "") + ", " + b.describe() + (transB ? "^T" : "") + ")";
        if (a.rank() < 2 || b.rank() < 2) throw new IllegalArgumentException(call + ": both operands need rank >= 2");
        checkFloat(call, a);
        checkFloat(call, b);
        int m = a.dim(transA ? -1 : -2), ka = a.dim(transA ? -2 : -1);
        int kb = b.dim(transB ? -1 : -2), n = b.dim(transB ? -2 : -1);
        if (ka != kb) throw new IllegalArgumentException(call + ": inner dimensions differ (" + ka + " vs " + kb + ")");
        int[] batchA = Arrays.copyOf(a.shape(), a.rank() - 2), batchB = Arrays.copyOf(b.shape(), b.rank() - 2);
        int[] batch;
        try {
            batch = Shapes.broadcast("matmul", batchA, batchB);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(call + ": batch dimensions " + Arrays.toString(batchA) + " and "
                    + Arrays.toString(batchB) + " do not broadcast");
        }
        Tensor out = Tensor.zeros(DType.F32, Shapes.concat(batch, m, n));
        long batches = Shapes.numel(batch);
        if (batches == 0 || m == 0 || n == 0) return out;
        long[] sa = Shapes.broadcastStrides(batchA, Arrays.copyOf(a.strides(), a.rank() - 2), batch);
        long[] sb = Shapes.broadcastStrides(batchB, Arrays.copyOf(b.strides(), b.rank() - 2), batch);
        long aRow = a.stride(transA ? -1 : -2), aDepth = a.stride(transA ? -2 : -1);
        long bLane = b.stride(transB ? -2 : -1), bDepth = b.stride(transB ? -1 : -2);
        MemorySegment cs = out.cpuSegment();
        Parallel.RangeBody perBatch = (lo, hi) -> {
            boolean inner = hi - lo == batches && GemmDriver.worthParallel(m, n, ka);
            for (int i = lo; i < hi; i++) {
                long offA = a.offset() + batchOffset(i, batch, sa), offB = b.offset() + batchOffset(i, batch, sb);
                GemmDriver.run(m, n, ka, StridedSource.of(a, offA, aRow, aDepth), StridedSource.of(b, offB, bLane, bDepth),
                        GemmOutput.segment(cs, (long) i * m * n, n, 1f, 0f), inner);
            }
        };
        // small products, or enough of them to balance: one product per task; else each spread over the pool
        int threads = Parallel.threads();
        boolean acrossBatches = batches > 1 && (!GemmDriver.worthParallel(m, n, ka) || batches % threads == 0 || batches >= 4L * threads);
        if (acrossBatches) Parallel.forRange((int) batches, 1, perBatch);
        else perBatch.run(0, (int) batches);
        return out;
    }

    /** The SPI's linear layer; see {@link dev.diffuse4j.runtime.ops.Backend#linear}. */
    static Tensor linear(Tensor x, Tensor w, Tensor bias) {
        String call = "linear(x " + x.describe() + ", w " + w.describe() + (bias == null ? "" : ", bias " + bias.describe()) + ")";
        if (w.rank() != 2) throw new IllegalArgumentException(call + ": weight must be [out, in]");
        if (x.rank() < 1) throw new IllegalArgumentException(call + ": input needs rank >= 1");
        checkFloat(call, x);
        checkFloat(call, w);
        int out = w.dim(0), in = w.dim(1);
        if (x.dim(-1) != in) throw new IllegalArgumentException(call + ": input features " + x.dim(-1) + " != weight in " + in);
        float[] b = biasArray(call, bias, out);
        int[] shape = x.shape();
        shape[shape.length - 1] = out;
        Tensor y = Tensor.zeros(DType.F32, shape);
        int m = (int) Shapes.rows(x.shape());
        if (m == 0 || out == 0) return y;
        long rowStride = collapsedRowStride(x);
        Tensor xs = rowStride < 0 ? Copy.contiguousCopy(x) : x;
        try {
            long rs = rowStride < 0 ? in : rowStride;
            GemmDriver.run(m, out, in, StridedSource.of(xs, xs.offset(), rs, xs.stride(-1)),
                    StridedSource.of(w, w.offset(), w.stride(0), w.stride(1)),
                    GemmOutput.withBias(y.cpuSegment(), 0, out, 0f, b), GemmDriver.worthParallel(m, out, in));
        } finally {
            if (xs != x) xs.close();
        }
        return y;
    }

    // ---------------------------------------------------------------- helpers shared with Conv

    static void checkFloat(String call, Tensor t) {
        DType d = t.dtype();
        if (d != DType.F32 && d != DType.F16 && d != DType.BF16)
            throw new IllegalArgumentException(call + ": " + t.describe() + " must be F32, F16 or BF16");
    }

    /** The bias as floats (any float dtype and strides), or null; its length must be {@code n}. */
    static float[] biasArray(String call, Tensor bias, int n) {
        if (bias == null) return null;
        checkFloat(call, bias);
        if (bias.rank() != 1 || bias.dim(0) != n)
            throw new IllegalArgumentException(call + ": bias " + bias.describe() + " must be [" + n + "]");
        return bias.toFloatArray();
    }

    /**
     * Stride between consecutive rows when all leading dims of {@code x} fold into one row index
     * ([..., in] seen as [rows, in]), or -1 when they do not (then a copy is needed).
     */
    static long collapsedRowStride(Tensor x) {
        int r = x.rank();
        long stride = -1;
        long expected = -1;
        for (int d = r - 2; d >= 0; d--) {
            if (x.dim(d) == 1) continue;
            if (stride < 0) {
                stride = x.stride(d);
                expected = stride * x.dim(d);
            } else {
                if (x.stride(d) != expected) return -1;
                expected *= x.dim(d);
            }
        }
        return stride < 0 ? x.dim(-1) : stride;
    }

    private static long batchOffset(long index, int[] batch, long[] strides) {
        long off = 0;
        for (int d = batch.length - 1; d >= 0; d--) {
            off += (index % batch[d]) * strides[d];
            index /= batch[d];
        }
        return off;
    }
}
