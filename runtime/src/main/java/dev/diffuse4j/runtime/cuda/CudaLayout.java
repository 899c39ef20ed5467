package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Shapes;
import dev.diffuse4j.runtime.Tensor;

import java.util.List;

import static dev.diffuse4j.runtime.cuda.CudaBackend.address;

/** Data movement on the device: strided copies, casts, concat, upsampling, embedding, timestep embedding. */
final class CudaLayout {
    private final CudaBackend be;

    CudaLayout(CudaBackend be) { this.be = be; }

    Tensor contiguous(Tensor x) {
        be.requireHere(x);
        Tensor out = be.alloc("contiguous", x.dtype(), x.shape());
        if (x.isContiguous()) {
            be.ctx.makeCurrent();
            if (x.byteSize() > 0)
                be.ctx.check(be.ctx.api.memcpyDtoD(address(out), address(x), x.byteSize(), be.ctx.stream), "contiguous", "cuMemcpyDtoDAsync");
        } else {
            copyStrided("contiguous", x, address(out), out.shape(), Shapes.contiguousStrides(out.shape()));
        }
        return out;
    }

    /** Copies the strided view {@code src} element by element into a view of the same shape at {@code dst}. */
    void copyStrided(String op, Tensor src, long dst, int[] dstShape, long[] dstStrides) {
        copyStrided(op, address(src), src.shape(), src.strides(), src.dtype(), dst, dstShape, dstStrides);
    }

    void copyStrided(String op, long src, int[] shape, long[] srcStrides, DType dtype, long dst, int[] dstShape, long[] dstStrides) {
        long n = Shapes.numel(shape);
        if (n == 0) return;
        String e = switch (dtype.byteSize()) {
            case 1 -> "e1";
            case 2 -> "e2";
            case 4 -> "e4";
            default -> "e8";
        };
        be.ctx.launch(op, be.k.get("copy", "copy_strided_" + e), be.grid(n), 1, 1, 256, 0,
                src, CStruct.strided(shape, srcStrides), dst, CStruct.strided(dstShape, dstStrides), n);
    }

    Tensor cast(Tensor x, DType to) {
        be.requireHere(x);
        if (x.dtype() == to) return contiguous(x);
        int from = CudaTypes.code(x.dtype()), dst = CudaTypes.code(to);
        Tensor out = be.alloc("cast", to, x.shape());
        long n = x.numel();
        if (n > 0)
            be.ctx.launch("cast " + x.dtype() + "->" + to, be.k.get("copy", "cast_strided"), be.grid(n), 1, 1, 256, 0,
                    address(x), CStruct.strided(x.shape(), x.strides()), from, address(out), dst, n);
        return out;
    }

    Tensor concat(List<Tensor> xs, int dim) {
        if (xs.isEmpty()) throw new IllegalArgumentException("concat: no tensors");
        Tensor first = xs.getFirst();
        int rank = first.rank();
        int d = Shapes.axis(dim, rank);
        DType t = first.dtype();
        int total = 0;
        for (Tensor x : xs) {
            be.requireHere(x);
            if (x.rank() != rank) throw new IllegalArgumentException("concat: ranks differ: " + first.describe() + " and " + x.describe());
            for (int i = 0; i < rank; i++)
                if (i != d && x.dim(i) != first.dim(i))
                    throw new IllegalArgumentException("concat along " + d + ": " + first.describe() + " and " + x.describe() + " differ in dim " + i);
            if (x.dtype() != t) t = DType.promote(t, x.dtype());
            total += x.dim(d);
        }
        int[] shape = first.shape();
        shape[d] = total;
        Tensor out = be.alloc("concat", t, shape);
        long[] os = Shapes.contiguousStrides(shape);
        long at = 0;
        for (Tensor x : xs) {
            try (Tensor src = x.dtype() == t ? x.share() : cast(x, t)) {
                long dst = address(out) + at * os[d] * t.byteSize();
                copyStrided("concat", src, dst, src.shape(), os);
            }
            at += x.dim(d);
        }
        return out;
    }

    Tensor upsampleNearest2x(Tensor x) {
        be.requireHere(x);
        if (x.rank() != 4) throw new IllegalArgumentException("upsampleNearest2x expects NHWC [B, H, W, C], got " + x.describe());
        try (Tensor c = x.isContiguous() ? x.share() : contiguous(x)) {
            int B = c.dim(0), H = c.dim(1), W = c.dim(2), C = c.dim(3);
            Tensor out = be.alloc("upsampleNearest2x", c.dtype(), B, 2 * H, 2 * W, C);
            long rowBytes = (long) C * c.dtype().byteSize();
            long src = address(c), dst = address(out);
            String e;
            long units;
            if (rowBytes % 16 == 0 && src % 16 == 0 && dst % 16 == 0) { e = "e16"; units = rowBytes / 16; }
            else if (c.dtype().byteSize() == 4) { e = "e4"; units = C; }
            else if (c.dtype().byteSize() == 2) { e = "e2"; units = C; }
            else throw new IllegalArgumentException("upsampleNearest2x on cuda takes 2- or 4-byte elements, got " + c.describe());
            long n = (long) B * 4 * H * W * units;
            be.ctx.launch("upsampleNearest2x", be.k.get("copy", "upsample2x_" + e), be.grid(n), 1, 1, 256, 0, src, dst, B, H, W, units);
            return out;
        }
    }

    Tensor embedding(Tensor table, Tensor ids) {
        be.requireHere(table);
        if (table.rank() != 2) throw new IllegalArgumentException("embedding: table must be [V, D], got " + table.describe());
        if (ids.dtype().isFloating()) throw new IllegalArgumentException("embedding: ids must be integers, got " + ids.describe());
        int V = table.dim(0), D = table.dim(1);
        long[] idv;
        if (ids.device().isCpu()) idv = ids.toLongArray();
        else {
            if (be.allocator.isCapturing())
                throw new IllegalStateException("embedding: ids on the device must be read back for the range check, which a CUDA graph cannot capture; pass CPU ids");
            try (Tensor h = be.toCpu(ids)) { idv = h.toLongArray(); }
        }
        int[] iv = new int[idv.length];
        for (int i = 0; i < idv.length; i++) {
            if (idv[i] < 0 || idv[i] >= V)
                throw new IndexOutOfBoundsException("embedding: id " + idv[i] + " at position " + i + " is outside the table's " + V + " rows");
            iv[i] = (int) idv[i];
        }
        int[] outShape = Shapes.concat(ids.shape(), D);
        try (Tensor tab = table.isContiguous() ? table.share() : contiguous(table);
             Tensor hostIds = Tensor.ofInts(iv, iv.length);
             Tensor devIds = be.copyFrom(hostIds)) {
            Tensor out = be.alloc("embedding", tab.dtype(), outShape);
            long rowBytes = (long) D * tab.dtype().byteSize();
            String e;
            long units;
            if (rowBytes % 16 == 0 && address(tab) % 16 == 0) { e = "e16"; units = rowBytes / 16; }
            else if (tab.dtype().byteSize() == 4) { e = "e4"; units = D; }
            else if (tab.dtype().byteSize() == 2) { e = "e2"; units = D; }
            else throw new IllegalArgumentException("embedding on cuda takes 2- or 4-byte tables, got " + tab.describe());
            long n = iv.length * units;
            be.ctx.launch("embedding", be.k.get("copy", "embedding_" + e), be.grid(n), 1, 1, 256, 0,
                    address(tab), address(devIds), address(out), (long) iv.length, units);
            return out;
        }
    }

    Tensor timestepEmbedding(Tensor t, int dim, boolean flip, float freqShift, float maxPeriod) {
        be.requireHere(t);
        if (t.rank() != 1) throw new IllegalArgumentException("timestepEmbedding: t must be [B], got " + t.describe());
        if (dim < 2) throw new IllegalArgumentException("timestepEmbedding: dim must be >= 2, got " + dim);
        DType outType = t.dtype().isFloating() ? t.dtype() : DType.F32;
        int B = t.dim(0);
        try (Tensor tc = t.isContiguous() ? t.share() : contiguous(t)) {
            Tensor out = be.alloc("timestepEmbedding", outType, B, dim);
            long n = (long) B * dim;
            be.ctx.launch("timestepEmbedding", be.k.get("copy", "timestep_embedding"), be.grid(n), 1, 1, 256, 0,
                    address(tc), CudaTypes.code(tc.dtype()), address(out), CudaTypes.code(outType), B, dim, flip ? 1 : 0,
                    freqShift, (float) Math.log(maxPeriod));
            return out;
        }
    }
}
