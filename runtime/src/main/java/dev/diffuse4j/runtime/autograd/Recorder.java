package dev.diffuse4j.runtime.autograd;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionGrads;
import dev.diffuse4j.runtime.ops.AttentionResult;
import dev.diffuse4j.runtime.ops.Backend;
import dev.diffuse4j.runtime.ops.Backends;
import dev.diffuse4j.runtime.ops.BinaryOp;
import dev.diffuse4j.runtime.ops.Conv2dParams;
import dev.diffuse4j.runtime.ops.KvSegment;
import dev.diffuse4j.runtime.ops.NormGrads;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.runtime.ops.UnaryOp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The recording hooks that {@link Ops} and {@link Tensor}'s views call after computing a result, and
 * the backward rule of every op. Each hook returns the result untouched; when a {@link Tape} records
 * on this thread and an input is tracked, it first records the op with the tensors its rule needs.
 * Rules are written with {@link Ops} (so they run on every backend) plus the reverse-mode primitives
 * of {@link Backend}. Not for model code: use {@link Tape}.
 */
public final class Recorder {
    private Recorder() {}

    // ---------------------------------------------------------------- linear algebra

    public static Tensor matmul(Tensor y, Tensor a, Tensor b, boolean transA, boolean transB) {
        if (Tape.current() == null) return y;
        Tape.Recording r = Tape.op("matmul", a, b);
        if (r == null) return y;
        boolean ga = r.needs(0), gb = r.needs(1);
        int[] as = a.shape(), bs = b.shape();
        Tensor sa = gb ? r.save(a) : null, sb = ga ? r.save(b) : null;
        r.finish(d -> new Tensor[]{
                ga ? reduce(transA ? Ops.matmul(sb, d[0], transB, true) : Ops.matmul(d[0], sb, false, !transB), as) : null,
                gb ? reduce(transB ? Ops.matmul(d[0], sa, true, transA) : Ops.matmul(sa, d[0], !transA, false), bs) : null}, y);
        return y;
    }

    public static Tensor linear(Tensor y, Tensor x, Tensor w, Tensor bias) {
        if (Tape.current() == null) return y;
        Tape.Recording r = Tape.op("linear", x, w, bias);
        if (r == null) return y;
        boolean gx = r.needs(0), gw = r.needs(1), gb = r.needs(2);
        int[] xs = x.shape(), ws = w.shape();
        int out = ws[0], in = ws[1];
        Tensor sx = gw ? r.save(x) : null, sw = gx ? r.save(w) : null;
        r.finish(d -> {
            Tensor d2 = flat(d[0], -1, out);
            return new Tensor[]{
                    gx ? flat(Ops.matmul(d2, sw), xs) : null,
                    gw ? Ops.matmul(d2, flat(sx, -1, in), true, false) : null,
                    gb ? reduce(d2, out) : null};
        }, y);
        return y;
    }

    /**
     * conv2d = im2col(x) · W^T: dW = dy^T · im2col(x); dx = col2im(dy · W) for strided convs, a
     * convolution of dy with the flipped transposed weights for stride 1, dy · W for a plain 1x1.
     */
    public static Tensor conv2d(Tensor y, Tensor x, Tensor w, Tensor bias, Conv2dParams p, Tensor residual) {
        if (Tape.current() == null) return y;
        Tape.Recording r = Tape.op("conv2d", x, w, bias, residual);
        if (r == null) return y;
        boolean gx = r.needs(0), gw = r.needs(1), gb = r.needs(2), gr = r.needs(3);
        int[] xs = x.shape(), ws = w.shape();
        int cout = ws[0], kh = ws[1], kw = ws[2], k = ws[1] * ws[2] * ws[3];
        boolean pointwise = kh == 1 && kw == 1 && p.equals(Conv2dParams.of(1, 0));
        Tensor sx = gw ? r.save(x) : null, sw = gx ? r.save(w) : null;
        r.finish(d -> {
            Backend be = Backends.of(d[0].device());
            Tensor d2 = flat(d[0], -1, cout);
            Tensor dx = null, dw = null;
            if (gx) {
                if (!pointwise && p.strideH() == 1 && p.strideW() == 1 && p.padTop() < kh && p.padBottom() < kh && p.padLeft() < kw && p.padRight() < kw) {
                    // stride 1: the input gradient is itself a convolution (the fast forward kernel), of dy with
                    // the flipped, in/out-swapped weights and the complementary padding
                    dx = Ops.conv2d(d[0], flippedTransposed(sw), null,
                            new Conv2dParams(1, 1, kh - 1 - p.padTop(), kw - 1 - p.padLeft(), kh - 1 - p.padBottom(), kw - 1 - p.padRight()));
                } else {
                    Tensor dcols = Ops.matmul(d2, flat(sw, cout, k));
                    dx = pointwise ? dcols.reshape(xs) : be.col2im(dcols, xs, kh, kw, p);
                }
            }
            if (gw) {
                Tensor cols = pointwise ? flat(sx, -1, k) : be.im2col(sx, kh, kw, p);
                dw = Ops.matmul(d2, cols, true, false).reshape(ws);
            }
            return new Tensor[]{dx, dw, gb ? reduce(d2, cout) : null, gr ? d[0] : null};
        }, y);
        return y;
    }

    /** w [Cout, kh, kw, Cin] -> [Cin, kh, kw, Cout] with both kernel axes reversed (built from ops: embedding picks the taps in reverse). */
    private static Tensor flippedTransposed(Tensor w) {
        int cout = w.dim(0), kh = w.dim(1), kw = w.dim(2), cin = w.dim(3);
        int[] reversed = new int[kh * kw];
        for (int i = 0; i < reversed.length; i++) reversed[i] = reversed.length - 1 - i;
        Tensor ids = Tensor.ofInts(reversed, reversed.length);
        if (!w.device().isCpu()) ids = Ops.to(ids, w.device());
        Tensor taps = flat(w.permute(1, 2, 0, 3), kh * kw, cout * cin);
        return Ops.contiguous(Ops.embedding(taps, ids).reshape(kh, kw, cout, cin).permute(3, 0, 1, 2));
    }

    // ---------------------------------------------------------------- normalisation

    public static Tensor groupNorm(Tensor y, Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        if (Tape.current() == null) return y;
        Tape.Recording r = Tape.op(silu ? "groupNorm+silu" : "groupNorm", x, gamma, beta);
        if (r == null) return y;
        Tensor sx = r.save(x), sg = r.save(gamma), sb = r.save(beta);
        r.finish(d -> {
            NormGrads g = Backends.of(d[0].device()).groupNormBackward(sx, d[0], groups, sg, sb, eps, silu);
            return new Tensor[]{g.dx(), shaped(g.dGamma(), sg), shaped(g.dBeta(), sb)};
        }, y);
        return y;
    }

    /** LayerNorm is GroupNorm with one group over [rows, 1, C]. */
    public static Tensor layerNorm(Tensor y, Tensor x, Tensor gamma, Tensor beta, float eps) {
        if (Tape.current() == null) return y;
        Tape.Recording r = Tape.op("layerNorm", x, gamma, beta);
        if (r == null) return y;
        int[] xs = x.shape();
        int c = xs[xs.length - 1];
        Tensor sx = r.save(x), sg = r.save(gamma), sb = r.save(beta);
        r.finish(d -> {
            NormGrads g = Backends.of(d[0].device()).groupNormBackward(flat(sx, -1, 1, c), flat(d[0], -1, 1, c), 1, sg, sb, eps, false);
            return new Tensor[]{flat(g.dx(), xs), shaped(g.dGamma(), sg), shaped(g.dBeta(), sb)};
        }, y);
        return y;
    }

    /** dx = y (dy - sum(dy y)) over the last dimension. */
    public static Tensor softmax(Tensor y, Tensor x) {
        if (Tape.current() == null) return y;
        Tape.Recording r = Tape.op("softmax", x);
        if (r == null) return y;
        int[] rows = x.shape();
        rows[rows.length - 1] = 1;
        Tensor sy = r.save(y);
        r.finish(d -> new Tensor[]{Ops.mul(sy, Ops.sub(d[0], reduce(Ops.mul(d[0], sy), rows)))}, y);
        return y;
    }

    // ---------------------------------------------------------------- elementwise

    public static Tensor unary(Tensor y, UnaryOp op, Tensor x) {
        if (Tape.current() == null) return y;
        Tape.Recording r = Tape.op(op.name().toLowerCase(), x);
        if (r == null) return y;
        Tensor sx = r.save(x);
        r.finish(d -> new Tensor[]{Backends.of(d[0].device()).unaryBackward(op, sx, d[0])}, y);
        return y;
    }

    public static Tensor binary(Tensor y, BinaryOp op, Tensor a, Tensor b) {
        if (Tape.current() == null) return y;
        Tape.Recording r = Tape.op(op.name().toLowerCase(), a, b);
        if (r == null) return y;
        boolean ga = r.needs(0), gb = r.needs(1);
        int[] as = a.shape(), bs = b.shape();
        boolean linear = op == BinaryOp.ADD || op == BinaryOp.SUB;
        Tensor sa = linear ? null : r.save(a), sb = linear ? null : r.save(b);
        r.finish(d -> {
            Tensor g = d[0];
            return switch (op) {
                case ADD -> new Tensor[]{ga ? reduce(g, as) : null, gb ? reduce(g, bs) : null};
                case SUB -> new Tensor[]{ga ? reduce(g, as) : null, gb ? reduce(Ops.scale(g, -1f), bs) : null};
                case MUL -> new Tensor[]{ga ? reduce(Ops.mul(g, sb), as) : null, gb ? reduce(Ops.mul(g, sa), bs) : null};
                case DIV -> new Tensor[]{ga ? reduce(Ops.div(g, sb), as) : null,
                        gb ? reduce(Ops.scale(Ops.div(Ops.mul(g, sa), Ops.mul(sb, sb)), -1f), bs) : null};
                case MAX, MIN -> {
                    Tensor first = Backends.of(g.device()).selectsFirst(op, sa, sb);
                    yield new Tensor[]{ga ? reduce(Ops.mul(g, first), as) : null, gb ? reduce(Ops.mul(g, Ops.affine(first, -1f, 1f)), bs) : null};
                }
            };
        }, y);
        return y;
    }

    public static Tensor affine(Tensor y, Tensor x, float mul) {
        if (Tape.current() == null) return y;
        Tape.Recording r = Tape.op("affine", x);
        if (r == null) return y;
        r.finish(d -> new Tensor[]{Ops.scale(d[0], mul)}, y);
        return y;
    }

    /** y = v gelu(g) for x = [v | g]: dv = dy gelu(g), dg = dy v gelu'(g). */
    public static Tensor geglu(Tensor y, Tensor x) {
        if (Tape.current() == null) return y;
        Tape.Recording r = Tape.op("geglu", x);
        if (r == null) return y;
        int n = x.dim(-1) / 2;
        Tensor sx = r.save(x);
        r.finish(d -> {
            Tensor v = sx.slice(-1, 0, n), g = sx.slice(-1, n, 2 * n);
            Tensor dv = Ops.mul(d[0], Ops.gelu(g));
            Tensor dg = Backends.of(g.device()).unaryBackward(UnaryOp.GELU_ERF, Ops.contiguous(g), Ops.mul(d[0], v));
            return new Tensor[]{Ops.concat(-1, dv, dg)};
        }, y);
        return y;
    }

    // ---------------------------------------------------------------- data movement

    public static Tensor concat(Tensor y, List<Tensor> xs, int dim) {
        if (Tape.current() == null) return y;
        Tensor[] in = xs.toArray(Tensor[]::new);
        Tape.Recording r = Tape.op("concat", in);
        if (r == null) return y;
        int axis = Math.floorMod(dim, y.rank());
        int[] starts = new int[in.length + 1];
        for (int i = 0; i < in.length; i++) starts[i + 1] = starts[i] + in[i].dim(axis);
        boolean[] need = new boolean[in.length];
        for (int i = 0; i < in.length; i++) need[i] = r.needs(i);
        r.finish(d -> {
            Tensor[] out = new Tensor[in.length];
            for (int i = 0; i < in.length; i++) if (need[i]) out[i] = Ops.contiguous(d[0].slice(axis, starts[i], starts[i + 1]));
            return out;
        }, y);
        return y;
    }

    /** Each input pixel receives the sum of its 2x2 block. */
    public static Tensor upsampleNearest2x(Tensor y, Tensor x) {
        if (Tape.current() == null) return y;
        Tape.Recording r = Tape.op("upsampleNearest2x", x);
        if (r == null) return y;
        int[] s = x.shape();
        r.finish(d -> new Tensor[]{flat(reduce(flat(d[0], s[0], s[1], 2, s[2], 2, s[3]), s[0], s[1], 1, s[2], 1, s[3]), s)}, y);
        return y;
    }

    public static Tensor embedding(Tensor y, Tensor table, Tensor ids) {
        if (Tape.current() == null) return y;
        Tape.Recording r = Tape.op("embedding", table, ids);
        if (r == null) return y;
        int rows = table.dim(0);
        int[] ts = table.shape();
        Tensor sids = r.save(ids);
        r.finish(d -> new Tensor[]{flat(Backends.of(d[0].device()).embeddingBackward(d[0], sids, rows), ts), null}, y);
        return y;
    }

    public static Tensor timestepEmbedding(Tensor y, Tensor t) {
        if (Tape.current() != null && Tape.op("timestepEmbedding", t) != null)
            throw new IllegalArgumentException("timestepEmbedding: not differentiable with respect to the timesteps t " + t.describe()
                    + ", which depend on a watched tensor; pass timesteps that do not");
        return y;
    }

    /**
     * contiguous, cast and device copies pass the gradient through (moved back to the input's device).
     * A cast to an integer dtype is not differentiable: its result is a constant (not recorded).
     */
    public static Tensor copy(String op, Tensor y, Tensor x) {
        if (Tape.current() == null || !y.dtype().isFloating()) return y;
        Tape.Recording r = Tape.op(op, x);
        if (r == null) return y;
        var device = x.device();
        r.finish(d -> new Tensor[]{d[0].device().equals(device) ? d[0] : Ops.to(d[0], device)}, y);
        return y;
    }

    // ---------------------------------------------------------------- attention

    /** Outputs: the attention output and the captured maps (either may be seeded). Backward recomputes from the saved inputs. */
    public static AttentionResult attention(AttentionResult res, AttentionCall call) {
        if (Tape.current() == null) return res;
        List<KvSegment> segs = call.segments();
        Tensor[] in = new Tensor[1 + 2 * segs.size()];
        in[0] = call.q();
        for (int j = 0; j < segs.size(); j++) {
            in[1 + 2 * j] = segs.get(j).k();
            in[2 + 2 * j] = segs.get(j).v();
        }
        Tape.Recording r = Tape.op("attention", in);
        if (r == null) return res;
        List<KvSegment> saved = new ArrayList<>();
        for (KvSegment s : segs)
            saved.add(new KvSegment(r.save(s.k()), r.save(s.v()), s.itemMap(), s.logitScale(), s.logitBias(), s.weight()));
        AttentionCall sc = new AttentionCall(r.save(call.q()), call.heads(), saved, call.mode(), call.scale(), call.causal(),
                call.adain(), call.captureSegment());
        r.finish(d -> {
            AttentionGrads g = Backends.of(sc.q().device()).attentionBackward(sc, d[0], d.length > 1 ? d[1] : null);
            Tensor[] out = new Tensor[in.length];
            out[0] = g.dq();
            for (int j = 0; j < segs.size(); j++) {
                out[1 + 2 * j] = g.dk().get(j);
                out[2 + 2 * j] = g.dv().get(j);
            }
            return out;
        }, res.out(), res.maps());
        return res;
    }

    // ---------------------------------------------------------------- views (called by Tensor)

    public static Tensor reshape(Tensor view, Tensor src) {
        if (Tape.current() == null) return view;
        Tape.Recording r = Tape.op("reshape", src);
        if (r == null) return view;
        int[] s = src.shape();
        r.finish(d -> new Tensor[]{flat(d[0], s)}, view);
        return view;
    }

    public static Tensor permute(Tensor view, Tensor src, int[] order) {
        if (Tape.current() == null) return view;
        Tape.Recording r = Tape.op("permute", src);
        if (r == null) return view;
        int[] inverse = new int[order.length];
        for (int i = 0; i < order.length; i++) inverse[Math.floorMod(order[i], order.length)] = i;
        r.finish(d -> new Tensor[]{Ops.contiguous(d[0].permute(inverse))}, view);
        return view;
    }

    public static Tensor slice(Tensor view, Tensor src, int dim, int start, int end) {
        if (Tape.current() == null) return view;
        Tape.Recording r = Tape.op("slice", src);
        if (r == null) return view;
        int[] s = src.shape();
        int axis = Math.floorMod(dim, s.length);
        r.finish(d -> new Tensor[]{pad(d[0], s, axis, start, end)}, view);
        return view;
    }

    public static Tensor select(Tensor view, Tensor src, int dim, int index) {
        if (Tape.current() == null) return view;
        Tape.Recording r = Tape.op("select", src);
        if (r == null) return view;
        int[] s = src.shape();
        int axis = Math.floorMod(dim, s.length);
        int[] kept = s.clone();
        kept[axis] = 1;
        r.finish(d -> new Tensor[]{pad(flat(d[0], kept), s, axis, index, index + 1)}, view);
        return view;
    }

    public static Tensor share(Tensor view, Tensor src) {
        if (Tape.current() == null) return view;
        Tape.Recording r = Tape.op("share", src);
        if (r == null) return view;
        r.finish(d -> new Tensor[]{d[0]}, view);
        return view;
    }

    // ---------------------------------------------------------------- helpers

    /** g summed down to {@code shape} (the reverse of broadcasting); g itself when the shapes agree. */
    static Tensor reduce(Tensor g, int... shape) {
        if (Arrays.equals(g.shape(), shape)) return g;
        return Backends.of(g.device()).sumToShape(g, shape);
    }

    /** A reshaped view of g (copied first when g is not contiguous). */
    static Tensor flat(Tensor g, int... shape) {
        return (g.isContiguous() ? g : Ops.contiguous(g)).reshape(shape);
    }

    /** g laid back into a zero tensor of {@code shape} at [start, end) along {@code axis}. */
    private static Tensor pad(Tensor g, int[] shape, int axis, int start, int end) {
        List<Tensor> parts = new ArrayList<>(3);
        if (start > 0) parts.add(zeros(g, shape, axis, start));
        parts.add(g);
        if (end < shape[axis]) parts.add(zeros(g, shape, axis, shape[axis] - end));
        return parts.size() == 1 ? g : Ops.concat(parts, axis);
    }

    private static Tensor zeros(Tensor like, int[] shape, int axis, int n) {
        int[] s = shape.clone();
        s[axis] = n;
        return Ops.full(like.device(), like.dtype(), 0f, s);
    }

    /** A parameter gradient in the parameter's own shape (norm primitives return [C]). */
    private static Tensor shaped(Tensor g, Tensor param) {
        return g == null || param == null ? null : flat(g, param.shape());
    }
}
