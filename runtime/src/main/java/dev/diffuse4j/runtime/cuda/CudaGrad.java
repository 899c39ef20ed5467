package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Shapes;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.BinaryOp;
import dev.diffuse4j.runtime.ops.Conv2dParams;
import dev.diffuse4j.runtime.ops.NormGrads;
import dev.diffuse4j.runtime.ops.UnaryOp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.diffuse4j.runtime.cuda.CudaBackend.address;

/**
 * The reverse-mode primitives of {@link dev.diffuse4j.runtime.ops.Backend} on grad.cu, with the
 * semantics of the CPU backend's runtime/cpu/grad: inputs F32/F16/BF16 (any strides), results F32.
 * Reductions are deterministic (fixed summation order, no atomics). embeddingBackward reads the ids
 * back to the host (as the forward embedding does, for the range check) to sort positions by row.
 */
final class CudaGrad {
    private final CudaBackend be;

    CudaGrad(CudaBackend be) { this.be = be; }

    // ---------------------------------------------------------------- unaryBackward

    Tensor unaryBackward(UnaryOp op, Tensor x, Tensor dy) {
        String name = "unaryBackward(" + op + ")";
        CudaTypes.requireFloat(name, x);
        CudaTypes.requireFloat(name, dy);
        if (!Arrays.equals(x.shape(), dy.shape()))
            throw new IllegalArgumentException(name + ": x " + x.describe() + " and dy " + dy.describe() + " differ in shape");
        DType t = DType.promote(x.dtype(), dy.dtype());
        try (Tensor cx = be.contiguousAs(x, t); Tensor cd = be.contiguousAs(dy, t)) {
            Tensor out = be.alloc(name, DType.F32, x.shape());
            long n = out.numel();
            be.ctx.launch(name, be.k.get("grad", "unary_grad_" + CudaTypes.suffix(t)), be.grid(n), 1, 1, 256, 0,
                    address(cx), address(cd), address(out), n, op.ordinal());
            return out;
        }
    }

    // ---------------------------------------------------------------- sumToShape

    Tensor sumToShape(Tensor x, int... shape) {
        be.requireHere(x);
        CudaTypes.requireFloat("sumToShape", x);
        int r = x.rank();
        int[] xs = x.shape();
        if (shape.length > r) throw mismatch(x, shape);
        int[] target = new int[r];
        Arrays.fill(target, 1);
        for (int i = 0; i < shape.length; i++) target[r - shape.length + i] = shape[i];
        for (int d = 0; d < r; d++) if (target[d] != xs[d] && target[d] != 1) throw mismatch(x, shape);
        Tensor out = be.alloc("sumToShape", DType.F32, shape);
        long nOut = out.numel();
        if (nOut == 0) return out;
        if (x.numel() == 0) {
            be.ctx.launch("sumToShape", be.k.get("copy", "fill_e4"), be.grid(nOut), 1, 1, 256, 0, address(out), nOut, 0);
            return out;
        }
        // Kept and summed dimensions (size-1 dims dropped), each list merged where x's strides allow.
        List<long[]> kept = new ArrayList<>(), red = new ArrayList<>();
        for (int d = 0; d < r; d++) {
            if (xs[d] == 1) continue;
            List<long[]> into = target[d] == xs[d] ? kept : red;
            long[] last = into.isEmpty() ? null : into.getLast();
            if (last != null && last[1] == x.stride(d) * xs[d]) { last[0] *= xs[d]; last[1] = x.stride(d); }
            else into.add(new long[]{xs[d], x.stride(d)});
        }
        byte[] sk = strided(kept), sr = strided(red);
        long inner = 1;
        for (long[] e : red) inner *= e[0];
        boolean cols = !kept.isEmpty() && kept.getLast()[1] == 1;  // consecutive outputs are consecutive in x
        long target_ = (long) be.ctx.smCount * (cols ? 8 : 64);  // blocks (cols) or warps (rows) to fill the device
        long units = cols ? (nOut + 31) / 32 : nOut;
        int splits = (int) Math.max(1, Math.min(Math.min(64, (inner + 255) / 256), (target_ + units - 1) / units));
        String sfx = CudaTypes.suffix(x.dtype());
        try (Tensor part = splits > 1 ? be.alloc("sumToShape", DType.F32, Math.toIntExact(nOut * splits)) : null) {
            long dst = part != null ? address(part) : address(out);
            if (cols)
                be.ctx.launch("sumToShape", be.k.get("grad", "sum_cols_" + sfx), Math.toIntExact(units), splits, 1, 256, 0,
                        address(x), sk, sr, nOut, inner, dst, splits);
            else
                be.ctx.launch("sumToShape", be.k.get("grad", "sum_rows_" + sfx), (int) Math.min((nOut + 7) / 8, (long) be.ctx.smCount * 64),
                        splits, 1, 256, 0, address(x), sk, sr, nOut, inner, dst, splits);
            if (part != null)
                be.ctx.launch("sumToShape", be.k.get("grad", "sum_splits"), be.grid(nOut), 1, 1, 256, 0, dst, address(out), nOut, splits);
        }
        return out;
    }

    private static byte[] strided(List<long[]> dims) {
        if (dims.size() > 8)
            throw new IllegalArgumentException("sumToShape on cuda: more than 8 non-mergeable dimensions");
        int[] shape = new int[dims.size()];
        long[] strides = new long[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = Math.toIntExact(dims.get(i)[0]);
            strides[i] = dims.get(i)[1];
        }
        return CStruct.strided(shape, strides);
    }

    private static IllegalArgumentException mismatch(Tensor x, int[] shape) {
        return new IllegalArgumentException("sumToShape: " + x.describe() + " does not broadcast from " + Arrays.toString(shape));
    }

    // ---------------------------------------------------------------- groupNormBackward

    NormGrads groupNormBackward(Tensor x, Tensor dy, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        String op = silu ? "groupNorm+silu backward" : "groupNorm backward";
        CudaTypes.requireFloat(op, x);
        CudaTypes.requireFloat(op, dy);
        if (x.rank() < 2) throw new IllegalArgumentException(op + ": x " + x.describe() + " must be channels-last [B, ..., C]");
        if (!Arrays.equals(x.shape(), dy.shape()))
            throw new IllegalArgumentException(op + ": x " + x.describe() + " and dy " + dy.describe() + " differ in shape");
        int B = x.dim(0), C = x.dim(-1);
        if (groups <= 0 || C % groups != 0)
            throw new IllegalArgumentException(op + ": the " + C + " channels of x " + x.describe() + " do not split into " + groups + " groups");
        for (Tensor p : new Tensor[]{gamma, beta}) {
            if (p == null) continue;
            be.requireHere(p);
            CudaTypes.requireFloat(op, p);
            if (p.numel() != C) throw new IllegalArgumentException(op + ": parameter " + p.describe() + " must have " + C + " elements");
        }
        int G = groups, Cg = C / G;
        long P = x.numel() / Math.max(1L, (long) B * C);
        DType t = DType.promote(x.dtype(), dy.dtype());
        String s = CudaTypes.suffix(t);
        Tensor dx = be.alloc(op, DType.F32, x.shape());
        Tensor dGamma = null, dBeta = null;
        if (x.numel() == 0) {
            if (gamma != null) dGamma = be.full(DType.F32, 0f, C);
            if (beta != null) dBeta = be.full(DType.F32, 0f, C);
            return new NormGrads(dx, dGamma, dBeta);
        }
        long perGroup = P * Cg;
        int statSplits = (int) Math.max(1, Math.min(64, (perGroup + 8191) / 8192));
        int splits = (int) Math.max(1, Math.min(Math.min(64, P), (P * C + 16383) / 16384));
        try (Tensor cx = be.contiguousAs(x, t); Tensor cd = be.contiguousAs(dy, t);
             Tensor g = gamma == null ? null : (gamma.isContiguous() ? gamma.share() : be.contiguous(gamma));
             Tensor bt = beta == null ? null : (beta.isContiguous() ? beta.share() : be.contiguous(beta));
             Tensor statPart = be.alloc(op, DType.F32, B * G * statSplits * 3);
             Tensor stats = be.alloc(op, DType.F32, B * G * 2);
             Tensor pdg = be.alloc(op, DType.F32, B * splits * C);
             Tensor pdb = be.alloc(op, DType.F32, B * splits * C);
             Tensor dgi = be.alloc(op, DType.F32, B * C);
             Tensor dbi = be.alloc(op, DType.F32, B * C);
             Tensor coef = be.alloc(op, DType.F32, B * G * 2)) {
            // statistics exactly as the forward computes them
            be.ctx.launch(op, be.k.get("norms", "group_norm_stats_" + s), B * G, statSplits, 1, 256, 0,
                    address(cx), address(statPart), (int) P, C, G);
            be.ctx.launch(op, be.k.get("norms", "group_norm_finalize"), (B * G + 127) / 128, 1, 1, 128, 0,
                    address(statPart), address(stats), B * G, statSplits, eps);
            long ga = CudaTypes.addressOrNull(g), ba = CudaTypes.addressOrNull(bt);
            int gc = g == null ? -1 : CudaTypes.code(g.dtype()), bc = bt == null ? -1 : CudaTypes.code(bt.dtype());
            be.ctx.launch(op, be.k.get("grad", "group_norm_bwd_reduce_" + s), B, splits, 1, 256, 0,
                    address(cx), address(cd), address(stats), P, C, G, ga, gc, ba, bc, silu ? 1 : 0, address(pdg), address(pdb));
            be.ctx.launch(op, be.k.get("grad", "gn_bwd_group"), be.grid((long) B * G), 1, 1, 256, 0,
                    address(pdg), address(pdb), B, C, G, splits, P, ga, gc, address(dgi), address(dbi), address(coef));
            long n = dx.numel();
            be.ctx.launch(op, be.k.get("grad", "group_norm_bwd_dx_" + s), be.grid(n), 1, 1, 256, 0,
                    address(cx), address(cd), address(stats), address(coef), P, C, G, ga, gc, ba, bc, silu ? 1 : 0, address(dx), n);
            // dgamma/dbeta: the per-item sums reduced over items (column sums: LayerNorm has one item per row)
            try (Tensor perItemGamma = dgi.reshape(B, C); Tensor perItemBeta = dbi.reshape(B, C)) {
                if (gamma != null) dGamma = sumToShape(perItemGamma, C);
                if (beta != null) dBeta = sumToShape(perItemBeta, C);
            }
        }
        return new NormGrads(dx, dGamma, dBeta);
    }

    // ---------------------------------------------------------------- im2col / col2im

    Tensor im2col(Tensor x, int kh, int kw, Conv2dParams p) {
        CudaTypes.requireFloat("im2col", x);
        if (x.rank() != 4) throw new IllegalArgumentException("im2col: x " + x.describe() + " must be NHWC [B, H, W, C]");
        int b = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
        int ho = p.outH(h, kh), wo = p.outW(w, kw);
        if (ho <= 0 || wo <= 0) throw new IllegalArgumentException("im2col: a " + kh + "x" + kw + " window with " + p + " does not fit " + x.describe());
        long k = (long) kh * kw * c;
        try (Tensor cx = be.contiguousAs(x, x.dtype())) {
            Tensor cols = be.alloc("im2col", DType.F32, Math.multiplyExact(b, Math.multiplyExact(ho, wo)), Math.toIntExact(k));
            long n = cols.numel();
            be.ctx.launch("im2col", be.k.get("grad", "im2col_" + CudaTypes.suffix(cx.dtype())), be.grid(n), 1, 1, 256, 0,
                    address(cx), address(cols), geom(h, w, c, ho, wo, kh, kw, p), n);
            return cols;
        }
    }

    Tensor col2im(Tensor cols, int[] inputShape, int kh, int kw, Conv2dParams p) {
        CudaTypes.requireFloat("col2im", cols);
        if (inputShape.length != 4) throw new IllegalArgumentException("col2im: input shape " + Arrays.toString(inputShape) + " must be NHWC");
        int b = inputShape[0], h = inputShape[1], w = inputShape[2], c = inputShape[3];
        int ho = p.outH(h, kh), wo = p.outW(w, kw);
        long k = (long) kh * kw * c;
        if (cols.rank() != 2 || cols.dim(0) != (long) b * ho * wo || cols.dim(1) != k)
            throw new IllegalArgumentException("col2im: cols " + cols.describe() + " must be [" + ((long) b * ho * wo) + ", " + k + "] for input "
                    + Arrays.toString(inputShape) + " and a " + kh + "x" + kw + " window with " + p);
        try (Tensor cc = be.contiguousAs(cols, cols.dtype())) {
            Tensor dx = be.alloc("col2im", DType.F32, inputShape);
            long n = dx.numel();
            be.ctx.launch("col2im", be.k.get("grad", "col2im_" + CudaTypes.suffix(cc.dtype())), be.grid(n), 1, 1, 256, 0,
                    address(cc), address(dx), geom(h, w, c, ho, wo, kh, kw, p), n);
            return dx;
        }
    }

    /** {@code struct ConvGeom} of grad.cu (12 ints). */
    static byte[] geom(int h, int w, int c, int ho, int wo, int kh, int kw, Conv2dParams p) {
        return new CStruct(48).i32(h).i32(w).i32(c).i32(ho).i32(wo).i32(kh).i32(kw)
                .i32(p.strideH()).i32(p.strideW()).i32(p.padTop()).i32(p.padLeft()).i32(0).bytes();
    }

    // ---------------------------------------------------------------- embeddingBackward

    Tensor embeddingBackward(Tensor dy, Tensor ids, int rows) {
        CudaTypes.requireFloat("embeddingBackward", dy);
        if (ids.dtype().isFloating()) throw new IllegalArgumentException("embeddingBackward: ids " + ids.describe() + " must be integers");
        int[] want = Arrays.copyOf(ids.shape(), ids.rank() + 1);
        int d = dy.dim(-1);
        want[ids.rank()] = d;
        if (!Arrays.equals(dy.shape(), want))
            throw new IllegalArgumentException("embeddingBackward: dy " + dy.describe() + " must be " + Arrays.toString(want) + " for ids " + ids.describe());
        long[] id;
        if (ids.device().isCpu()) id = ids.toLongArray();
        else {
            if (be.allocator.isCapturing())
                throw new IllegalStateException("embeddingBackward: ids on the device must be read back to order the rows, which a CUDA graph cannot capture; pass CPU ids");
            try (Tensor h = be.toCpu(ids)) { id = h.toLongArray(); }
        }
        // Positions grouped by row, ascending within a row (a counting sort): the kernel's sum order.
        int[] offsets = new int[rows + 1], order = new int[Math.max(1, id.length)];
        for (long r : id) {
            if (r < 0 || r >= rows) throw new IllegalArgumentException("embeddingBackward: id " + r + " is outside [0, " + rows + ")");
            offsets[(int) r + 1]++;
        }
        for (int r = 0; r < rows; r++) offsets[r + 1] += offsets[r];
        int[] next = Arrays.copyOf(offsets, rows);
        for (int t = 0; t < id.length; t++) order[next[(int) id[t]]++] = t;
        try (Tensor cd = be.contiguousAs(dy, dy.dtype());
             Tensor hostOffsets = Tensor.ofInts(offsets, offsets.length); Tensor hostOrder = Tensor.ofInts(order, order.length);
             Tensor devOffsets = be.copyFrom(hostOffsets); Tensor devOrder = be.copyFrom(hostOrder)) {
            Tensor out = be.alloc("embeddingBackward", DType.F32, rows, d);
            long n = out.numel();
            be.ctx.launch("embeddingBackward", be.k.get("grad", "embedding_grad_" + CudaTypes.suffix(cd.dtype())), be.grid(n), 1, 1, 256, 0,
                    address(cd), address(devOffsets), address(devOrder), address(out), (long) rows, d);
            return out;
        }
    }

    // ---------------------------------------------------------------- selectsFirst

    Tensor selectsFirst(BinaryOp op, Tensor a, Tensor b) {
        if (op != BinaryOp.MAX && op != BinaryOp.MIN) throw new IllegalArgumentException("selectsFirst: " + op + " is not MAX or MIN");
        CudaTypes.requireFloat("selectsFirst", a);
        CudaTypes.requireFloat("selectsFirst", b);
        int[] shape = Shapes.broadcast("selectsFirst", a.shape(), b.shape());
        DType t = DType.promote(a.dtype(), b.dtype());
        try (Tensor ta = be.as(a, t); Tensor tb = be.as(b, t)) {
            Tensor out = be.alloc("selectsFirst", DType.F32, shape);
            long n = out.numel();
            byte[] sa = CStruct.strided(shape, Shapes.broadcastStrides(ta.shape(), ta.strides(), shape));
            byte[] sb = CStruct.strided(shape, Shapes.broadcastStrides(tb.shape(), tb.strides(), shape));
            be.ctx.launch("selectsFirst", be.k.get("grad", "selects_first_" + CudaTypes.suffix(t)), be.grid(n), 1, 1, 256, 0,
                    address(ta), sa, address(tb), sb, address(out), n, op.ordinal());
            return out;
        }
    }
}
