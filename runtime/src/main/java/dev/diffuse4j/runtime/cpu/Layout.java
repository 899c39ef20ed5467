package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Shapes;
import dev.diffuse4j.runtime.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.List;

import static dev.diffuse4j.runtime.cpu.Elementwise.requireFloat;

/** Data movement: concatenation, nearest upsampling, embedding gather, sinusoidal timestep embedding. */
final class Layout {
    private Layout() {}

    // ---------------------------------------------------------------- concat

    /** Float inputs give an F32 result; inputs of one integer dtype keep it. */
    static Tensor concat(List<Tensor> xs, int dim) {
        if (xs == null || xs.isEmpty()) throw new IllegalArgumentException("concat: no tensors");
        for (Tensor x : xs) if (x == null) throw new IllegalArgumentException("concat: a tensor in the list is null");
        Tensor first = xs.getFirst();
        int rank = first.rank();
        if (rank == 0) throw new IllegalArgumentException("concat: cannot concatenate rank-0 tensors (" + describeAll(xs) + ")");
        if (dim < -rank || dim >= rank)
            throw new IllegalArgumentException("concat: dim " + dim + " is out of range for rank " + rank + " (" + describeAll(xs) + ")");
        int d = dim < 0 ? dim + rank : dim;
        DType outType = concatType(xs);
        int[] shape = first.shape();
        long total = 0;
        for (Tensor x : xs) {
            boolean same = x.rank() == rank;
            for (int i = 0; same && i < rank; i++) same = i == d || x.dim(i) == shape[i];
            if (!same)
                throw new IllegalArgumentException("concat along dim " + d + ": shapes differ outside that dim (" + describeAll(xs) + ")");
            if (!x.device().isCpu())
                throw new IllegalArgumentException("concat: " + x.describe() + " lives on " + x.device() + ", not the CPU");
            total += x.dim(d);
        }
        if (total > Integer.MAX_VALUE) throw new IllegalArgumentException("concat along dim " + d + ": " + total + " is too large a dimension (" + describeAll(xs) + ")");
        shape[d] = (int) total;
        Tensor out = Tensor.zeros(outType, shape);
        long[] os = out.strides();
        MemorySegment seg = out.cpuSegment();
        long at = 0;
        for (Tensor x : xs) {
            Copy.convert(x.cpuSegment(), x.dtype(), x.offset(), x.shape(), x.strides(), seg, outType, at * os[d], os);
            at += x.dim(d);
        }
        return out;
    }

    private static DType concatType(List<Tensor> xs) {
        boolean allFloat = true;
        DType integer = null;
        boolean mixed = false;
        for (Tensor x : xs) {
            if (x.dtype().isFloating()) continue;
            allFloat = false;
            if (integer != null && integer != x.dtype()) mixed = true;
            integer = x.dtype();
        }
        if (allFloat) {
            DType t = xs.getFirst().dtype();
            for (Tensor x : xs) t = DType.promote(t, x.dtype());
            return t;
        }
        for (Tensor x : xs) if (x.dtype().isFloating()) mixed = true;
        if (mixed) throw new IllegalArgumentException("concat: cannot mix dtypes " + describeAll(xs) + "; cast them to one type first");
        return integer;
    }

    private static String describeAll(List<Tensor> xs) {
        StringBuilder sb = new StringBuilder();
        for (Tensor x : xs) {
            if (!sb.isEmpty()) sb.append(", ");
            sb.append(x == null ? "null" : x.describe());
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- upsample

    static Tensor upsampleNearest2x(Tensor x) {
        requireFloat("upsampleNearest2x", x);
        if (x.rank() != 4) throw new IllegalArgumentException("upsampleNearest2x: x " + x.describe() + " must be NHWC [B, H, W, C]");
        int[] s = x.shape();
        long[] st = x.strides();
        Tensor out = Tensor.zeros(DType.F32, s[0], 2 * s[1], 2 * s[2], s[3]);
        // out seen as [B, H, 2, W, 2, C]; the source repeats along the two size-2 dims (stride 0).
        int[] view = {s[0], s[1], 2, s[2], 2, s[3]};
        long[] src = {st[0], st[1], 0, st[2], 0, st[3]};
        Copy.convert(x.cpuSegment(), x.dtype(), x.offset(), view, src,
                out.cpuSegment(), DType.F32, 0, Shapes.contiguousStrides(view));
        return out;
    }

    // ---------------------------------------------------------------- embedding

    static Tensor embedding(Tensor table, Tensor ids) {
        requireFloat("embedding table", table);
        if (table.rank() != 2)
            throw new IllegalArgumentException("embedding: table " + table.describe() + " must be [V, D]");
        if (ids == null || ids.dtype().isFloating())
            throw new IllegalArgumentException("embedding: ids " + (ids == null ? "null" : ids.describe()) + " must be an integer tensor (I32 or I64)");
        if (!ids.device().isCpu())
            throw new IllegalArgumentException("embedding: ids " + ids.describe() + " live on " + ids.device() + ", not the CPU");
        int v = table.dim(0), d = table.dim(1);
        long[] idx = ids.toLongArray();
        for (int i = 0; i < idx.length; i++)
            if (idx[i] < 0 || idx[i] >= v)
                throw new IllegalArgumentException("embedding: id " + idx[i] + " at flat index " + i + " of ids " + ids.describe()
                        + " is out of range for table " + table.describe() + " (valid ids 0.." + (v - 1) + ")");
        Tensor out = Tensor.zeros(DType.F32, Shapes.concat(ids.shape(), d));
        MemorySegment ts = table.cpuSegment(), os = out.cpuSegment();
        DType dt = table.dtype();
        long rowStride = table.stride(0), colStride = table.stride(1), base = table.offset();
        Parallel.forRange(idx.length, Math.max(1, Walk.MIN_TASK / Math.max(1, d)), (lo, hi) -> {
            for (int i = lo; i < hi; i++)
                Floats.load(ts, dt, base + idx[i] * rowStride, colStride, os, (long) i * d * 4, d);
        });
        return out;
    }

    // ---------------------------------------------------------------- timestep embedding

    /**
     * diffusers' get_timestep_embedding, with torch's float32 rounding at every step:
     * freq_i = exp(-ln(maxPeriod) * i / (half - freqShift)), emb = [sin(t freq) | cos(t freq)]
     * ([cos | sin] when flipped), and a zero column when dim is odd.
     */
    static Tensor timestepEmbedding(Tensor t, int dim, boolean flipSinToCos, float freqShift, float maxPeriod) {
        String op = "timestepEmbedding";
        if (t == null) throw new IllegalArgumentException(op + ": t is null");
        if (t.rank() != 1) throw new IllegalArgumentException(op + ": t " + t.describe() + " must be 1-D [B]");
        if (!t.device().isCpu()) throw new IllegalArgumentException(op + ": t " + t.describe() + " lives on " + t.device() + ", not the CPU");
        if (dim < 1) throw new IllegalArgumentException(op + ": dim " + dim + " must be positive");
        int half = dim / 2;
        float denom = (float) ((double) half - freqShift);
        if (half > 0 && denom == 0f)
            throw new IllegalArgumentException(op + ": half - freqShift = " + half + " - " + freqShift + " is zero");
        float negLog = (float) -Math.log(maxPeriod);
        float[] freq = new float[half];
        for (int i = 0; i < half; i++) freq[i] = (float) Math.exp((i * negLog) / denom);
        int batch = t.dim(0);
        float[] ts = new float[batch];
        for (int b = 0; b < batch; b++) ts[b] = t.dtype().isFloating() ? t.getFloat(b) : (float) t.getLong(b);
        float[] emb = new float[batch * dim];
        int sinAt = flipSinToCos ? half : 0, cosAt = flipSinToCos ? 0 : half;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < half; i++) {
                float arg = ts[b] * freq[i];
                emb[b * dim + sinAt + i] = (float) Math.sin(arg);
                emb[b * dim + cosAt + i] = (float) Math.cos(arg);
            }
        }
        return Tensor.of(emb, batch, dim);
    }
}
