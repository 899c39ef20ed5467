package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Shapes;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.BinaryOp;
import dev.diffuse4j.runtime.ops.UnaryOp;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.diffuse4j.runtime.cpu.VecMath.F;
import static dev.diffuse4j.runtime.cpu.VecMath.LANES;
import static dev.diffuse4j.runtime.cpu.VecMath.ORDER;

/**
 * Elementwise ops: unary functions, broadcasting binary ops, affine, GEGLU. Every op walks its
 * operands as runs (see {@link Walk}); F32 runs with unit stride are read in place, anything else
 * (F16/BF16, strided views) is first converted into a per-thread buffer.
 */
final class Elementwise {
    private Elementwise() {}

    /** Elements per piece of a run: large enough to amortise the per-piece work, small enough for L1/L2. */
    private static final int CHUNK = 8192;

    // ---------------------------------------------------------------- unary and affine

    static Tensor unary(UnaryOp op, Tensor x) {
        requireFloat("unary " + op, x);
        return map(x, op, 1f, 0f);
    }

    static Tensor affine(Tensor x, float mul, float add) {
        requireFloat("affine", x);
        return map(x, null, mul, add);
    }

    /** Applies {@code op}, or x * mul + add when op is null. */
    private static Tensor map(Tensor x, UnaryOp op, float mul, float add) {
        Tensor out = Tensor.zeros(DType.F32, x.shape());
        MemorySegment xs = x.cpuSegment(), os = out.cpuSegment();
        DType dt = x.dtype();
        Walk w = Walk.flat(x.shape(), new long[]{x.offset(), 0}, x.strides(), out.strides());
        w.forEachTile(CHUNK, (row, col, len, at) -> {
            MemorySegment src = xs;
            long srcByte = at[0] * 4;
            if (dt != DType.F32 || w.innerStride[0] != 1) {
                src = Scratch.get().segment(0, len);
                srcByte = 0;
                Floats.load(xs, dt, at[0], w.innerStride[0], src, 0, len);
            }
            if (op == null) affineRun(src, srcByte, os, at[1] * 4, len, mul, add);
            else unaryRun(op, src, srcByte, os, at[1] * 4, len);
        });
        return out;
    }

    /**
     * Applies {@code op} to a run. Each transcendental has its own loop so that C2 inlines one function
     * per compiled loop (a switch over all of them, or a second masked copy for the tail, overflows its
     * inlining budget and leaves vectors boxed); the tail goes through a padded scratch vector instead.
     */
    private static void unaryRun(UnaryOp op, MemorySegment s, long sb, MemorySegment d, long db, int n) {
        int body = F.loopBound(n);
        switch (op) {
            case SILU -> siluLoop(s, sb, d, db, body);
            case GELU_ERF -> geluErfLoop(s, sb, d, db, body);
            case GELU_TANH -> geluTanhLoop(s, sb, d, db, body);
            case QUICK_GELU -> quickGeluLoop(s, sb, d, db, body);
            case SIGMOID -> sigmoidLoop(s, sb, d, db, body);
            case EXP -> expLoop(s, sb, d, db, body);
            case NEG, SQRT, SQUARE -> simpleLoop(op, s, sb, d, db, body);
        }
        if (body < n) {
            MemorySegment pad = Scratch.get().pad();
            MemorySegment.copy(s, sb + 4L * body, pad, 0, 4L * (n - body));
            unaryRun(op, pad, 0, pad, 0, LANES);
            MemorySegment.copy(pad, 0, d, db + 4L * body, 4L * (n - body));
        }
    }

    private static FloatVector load(MemorySegment s, long sb, int i) { return FloatVector.fromMemorySegment(F, s, sb + 4L * i, ORDER); }

    private static void siluLoop(MemorySegment s, long sb, MemorySegment d, long db, int n) {
        for (int i = 0; i < n; i += LANES) VecMath.silu(load(s, sb, i)).intoMemorySegment(d, db + 4L * i, ORDER);
    }

    /** GELU runs in blocks that stay in L1 between its two passes. */
    private static final int GELU_BLOCK = 1024;

    /**
     * Exact GELU over a run (n a multiple of the vector length; see VecMath for the erfc approximation).
     * Two passes per block: the whole function in one loop is more Vector API code than C2 inlines into
     * one compilation (it stops at its node-count cutoff and leaves vectors boxed, ~20x slower).
     */
    private static void geluErfLoop(MemorySegment s, long sb, MemorySegment d, long db, int n) {
        MemorySegment tmp = Scratch.get().segment(2, 2 * GELU_BLOCK);
        for (int start = 0; start < n; start += GELU_BLOCK) {
            int len = Math.min(GELU_BLOCK, n - start);
            geluErfExponent(s, sb + 4L * start, tmp, len);
            geluErfFinish(s, sb + 4L * start, tmp, d, db + 4L * start, len);
        }
    }

    /**
     * Pass 1: Phi(-|x|) = c * exp(hi) with erfc(z) = t exp(p(t) - z^2); stores hi and c = t (1 + lo) / 2
     * (hi + lo = p - z^2 exactly enough: z^2 = x^2/2 split by one FMA, the sum by TwoSum). Working from |x|
     * rather than a rounded z = |x|/sqrt2 keeps z^2 exact, so the relative accuracy holds in the tail.
     */
    private static void geluErfExponent(MemorySegment s, long sb, MemorySegment tmp, int n) {
        FloatVector one = FloatVector.broadcast(F, 1f);
        for (int i = 0; i < n; i += LANES) {
            FloatVector ax = load(s, sb, i).abs().min(14.2f); // erfc(14.2/sqrt2) underflows
            FloatVector t = one.div(ax.fma(0.5f * VecMath.RSQRT2, 1f));
            FloatVector u = t.fma(2f, -1f);
            FloatVector p = u.fma(VecMath.P11, VecMath.P10);
            p = p.fma(u, VecMath.bc(VecMath.P9));
            p = p.fma(u, VecMath.bc(VecMath.P8));
            p = p.fma(u, VecMath.bc(VecMath.P7));
            p = p.fma(u, VecMath.bc(VecMath.P6));
            p = p.fma(u, VecMath.bc(VecMath.P5));
            p = p.fma(u, VecMath.bc(VecMath.P4));
            p = p.fma(u, VecMath.bc(VecMath.P3));
            p = p.fma(u, VecMath.bc(VecMath.P2));
            p = p.fma(u, VecMath.bc(VecMath.P1));
            p = p.fma(u, VecMath.bc(VecMath.P0));
            FloatVector sq = ax.mul(ax);
            FloatVector a = sq.mul(-0.5f);
            FloatVector aErr = ax.fma(ax, sq.neg()).mul(-0.5f);
            FloatVector hi = p.add(a);
            FloatVector bv = hi.sub(a);
            FloatVector lo = a.sub(hi.sub(bv)).add(p.sub(bv)).add(aErr);
            hi.intoMemorySegment(tmp, 4L * i, ORDER);
            t.fma(lo, t).mul(0.5f).intoMemorySegment(tmp, 4L * (GELU_BLOCK + i), ORDER);
        }
    }

    /** Pass 2: x * Phi(x), Phi(x) = 1 - Phi(-x). */
    private static void geluErfFinish(MemorySegment s, long sb, MemorySegment tmp, MemorySegment d, long db, int n) {
        for (int i = 0; i < n; i += LANES) {
            FloatVector x = load(s, sb, i);
            FloatVector e = VecMath.exp(FloatVector.fromMemorySegment(F, tmp, 4L * i, ORDER));
            FloatVector phiNeg = e.mul(FloatVector.fromMemorySegment(F, tmp, 4L * (GELU_BLOCK + i), ORDER));
            x.mul(phiNeg.neg().add(1f).blend(phiNeg, x.compare(VectorOperators.LT, 0f))).intoMemorySegment(d, db + 4L * i, ORDER);
        }
    }

    private static void geluTanhLoop(MemorySegment s, long sb, MemorySegment d, long db, int n) {
        for (int i = 0; i < n; i += LANES) VecMath.geluTanh(load(s, sb, i)).intoMemorySegment(d, db + 4L * i, ORDER);
    }

    private static void quickGeluLoop(MemorySegment s, long sb, MemorySegment d, long db, int n) {
        for (int i = 0; i < n; i += LANES) VecMath.quickGelu(load(s, sb, i)).intoMemorySegment(d, db + 4L * i, ORDER);
    }

    private static void sigmoidLoop(MemorySegment s, long sb, MemorySegment d, long db, int n) {
        for (int i = 0; i < n; i += LANES) VecMath.sigmoid(load(s, sb, i)).intoMemorySegment(d, db + 4L * i, ORDER);
    }

    private static void expLoop(MemorySegment s, long sb, MemorySegment d, long db, int n) {
        for (int i = 0; i < n; i += LANES) VecMath.exp(load(s, sb, i)).intoMemorySegment(d, db + 4L * i, ORDER);
    }

    private static void simpleLoop(UnaryOp op, MemorySegment s, long sb, MemorySegment d, long db, int n) {
        for (int i = 0; i < n; i += LANES) {
            FloatVector v = load(s, sb, i);
            FloatVector y = switch (op) {
                case NEG -> v.neg();
                case SQRT -> v.lanewise(VectorOperators.SQRT);
                default -> v.mul(v); // SQUARE
            };
            y.intoMemorySegment(d, db + 4L * i, ORDER);
        }
    }

    private static void affineRun(MemorySegment s, long sb, MemorySegment d, long db, int n, float mul, float add) {
        FloatVector m = FloatVector.broadcast(F, mul), a = FloatVector.broadcast(F, add);
        int i = 0;
        for (int up = F.loopBound(n); i < up; i += LANES)
            FloatVector.fromMemorySegment(F, s, sb + 4L * i, ORDER).fma(m, a).intoMemorySegment(d, db + 4L * i, ORDER);
        if (i < n) {
            VectorMask<Float> k = F.indexInRange(i, n);
            FloatVector.fromMemorySegment(F, s, sb + 4L * i, ORDER, k).fma(m, a).intoMemorySegment(d, db + 4L * i, ORDER, k);
        }
    }

    // ---------------------------------------------------------------- binary with broadcasting

    static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        String name = op.name().toLowerCase();
        requireFloat(name, a);
        requireFloat(name, b);
        int[] shape = Shapes.broadcast(name, a.shape(), b.shape());
        Tensor out = Tensor.zeros(DType.F32, shape);
        MemorySegment as = a.cpuSegment(), bs = b.cpuSegment(), os = out.cpuSegment();
        DType at = a.dtype(), bt = b.dtype();
        Walk w = Walk.flat(shape, new long[]{a.offset(), b.offset(), 0},
                Shapes.broadcastStrides(a.shape(), a.strides(), shape),
                Shapes.broadcastStrides(b.shape(), b.strides(), shape),
                out.strides());
        long sa = w.innerStride[0], sb = w.innerStride[1];
        w.forEachTile(CHUNK, (row, col, len, off) -> {
            long db = off[2] * 4;
            if (sa == 0 && sb == 0) {
                float v = apply(op, Floats.read(as, at, off[0]), Floats.read(bs, bt, off[1]));
                Floats.fill(os, db, v, len);
            } else if (sb == 0) {
                Operand x = Operand.of(as, at, off[0], sa, len, 0);
                binaryRunScalarB(op, x.seg, x.byteOff, Floats.read(bs, bt, off[1]), os, db, len);
            } else if (sa == 0) {
                Operand y = Operand.of(bs, bt, off[1], sb, len, 1);
                binaryRunScalarA(op, Floats.read(as, at, off[0]), y.seg, y.byteOff, os, db, len);
            } else {
                Operand x = Operand.of(as, at, off[0], sa, len, 0);
                Operand y = Operand.of(bs, bt, off[1], sb, len, 1);
                binaryRun(op, x.seg, x.byteOff, y.seg, y.byteOff, os, db, len);
            }
        });
        return out;
    }

    /** A run as contiguous F32: the tensor memory itself when possible, else a converted copy in scratch slot {@code slot}. */
    private record Operand(MemorySegment seg, long byteOff) {
        static Operand of(MemorySegment s, DType dt, long off, long stride, int len, int slot) {
            if (dt == DType.F32 && stride == 1) return new Operand(s, off * 4);
            MemorySegment buf = Scratch.get().segment(slot, len);
            Floats.load(s, dt, off, stride, buf, 0, len);
            return new Operand(buf, 0);
        }
    }

    private static void binaryRun(BinaryOp op, MemorySegment a, long ab, MemorySegment b, long bb, MemorySegment d, long db, int n) {
        int i = 0;
        for (int up = F.loopBound(n); i < up; i += LANES) {
            FloatVector x = FloatVector.fromMemorySegment(F, a, ab + 4L * i, ORDER);
            FloatVector y = FloatVector.fromMemorySegment(F, b, bb + 4L * i, ORDER);
            apply(op, x, y).intoMemorySegment(d, db + 4L * i, ORDER);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector x = FloatVector.fromMemorySegment(F, a, ab + 4L * i, ORDER, m);
            FloatVector y = FloatVector.fromMemorySegment(F, b, bb + 4L * i, ORDER, m);
            apply(op, x, y).intoMemorySegment(d, db + 4L * i, ORDER, m);
        }
    }

    private static void binaryRunScalarB(BinaryOp op, MemorySegment a, long ab, float bv, MemorySegment d, long db, int n) {
        FloatVector y = FloatVector.broadcast(F, bv);
        int i = 0;
        for (int up = F.loopBound(n); i < up; i += LANES)
            apply(op, FloatVector.fromMemorySegment(F, a, ab + 4L * i, ORDER), y).intoMemorySegment(d, db + 4L * i, ORDER);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            apply(op, FloatVector.fromMemorySegment(F, a, ab + 4L * i, ORDER, m), y).intoMemorySegment(d, db + 4L * i, ORDER, m);
        }
    }

    private static void binaryRunScalarA(BinaryOp op, float av, MemorySegment b, long bb, MemorySegment d, long db, int n) {
        FloatVector x = FloatVector.broadcast(F, av);
        int i = 0;
        for (int up = F.loopBound(n); i < up; i += LANES)
            apply(op, x, FloatVector.fromMemorySegment(F, b, bb + 4L * i, ORDER)).intoMemorySegment(d, db + 4L * i, ORDER);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            apply(op, x, FloatVector.fromMemorySegment(F, b, bb + 4L * i, ORDER, m)).intoMemorySegment(d, db + 4L * i, ORDER, m);
        }
    }

    static FloatVector apply(BinaryOp op, FloatVector x, FloatVector y) {
        return switch (op) {
            case ADD -> x.add(y);
            case SUB -> x.sub(y);
            case MUL -> x.mul(y);
            case DIV -> x.div(y);
            case MAX -> x.max(y);
            case MIN -> x.min(y);
        };
    }

    static float apply(BinaryOp op, float x, float y) {
        return switch (op) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            case DIV -> x / y;
            case MAX -> Math.max(x, y);
            case MIN -> Math.min(x, y);
        };
    }

    // ---------------------------------------------------------------- GEGLU

    /** x [..., 2n] -> value [..., :n] * gelu_erf(gate [..., n:]). */
    static Tensor geglu(Tensor x) {
        requireFloat("geglu", x);
        if (x.rank() == 0 || x.dim(-1) % 2 != 0)
            throw new IllegalArgumentException("geglu: the last dimension of " + x.describe() + " must be even (value and gate halves)");
        int[] shape = x.shape();
        int n = shape[shape.length - 1] / 2;
        shape[shape.length - 1] = n;
        Tensor out = Tensor.zeros(DType.F32, shape);
        MemorySegment xs = x.cpuSegment(), os = out.cpuSegment();
        DType dt = x.dtype();
        long stride = x.stride(-1);
        Walk w = Walk.rows(x.shape(), new long[]{x.offset()}, x.strides());
        w.forEachRow((row, col, len, off) -> {
            Operand v = Operand.of(xs, dt, off[0], stride, n, 0);
            Operand g = Operand.of(xs, dt, off[0] + n * stride, stride, n, 1);
            gegluRun(v.seg, v.byteOff, g.seg, g.byteOff, os, row * n * 4, n);
        });
        return out;
    }

    /** value * gelu(gate): GELU of the gate into the output row, then the product in place. */
    private static void gegluRun(MemorySegment v, long vb, MemorySegment g, long gb, MemorySegment d, long db, int n) {
        unaryRun(UnaryOp.GELU_ERF, g, gb, d, db, n);
        int i = 0;
        for (int up = F.loopBound(n); i < up; i += LANES)
            load(d, db, i).mul(load(v, vb, i)).intoMemorySegment(d, db + 4L * i, ORDER);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromMemorySegment(F, d, db + 4L * i, ORDER, m).mul(FloatVector.fromMemorySegment(F, v, vb + 4L * i, ORDER, m))
                    .intoMemorySegment(d, db + 4L * i, ORDER, m);
        }
    }

    // ---------------------------------------------------------------- checks

    static void requireFloat(String op, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": input tensor is null");
        if (!t.dtype().isFloating())
            throw new IllegalArgumentException(op + ": " + t.describe() + " has an integer dtype; expected F32, F16 or BF16 (cast first)");
        if (!t.device().isCpu())
            throw new IllegalArgumentException(op + ": " + t.describe() + " lives on " + t.device() + ", not the CPU");
    }
}
