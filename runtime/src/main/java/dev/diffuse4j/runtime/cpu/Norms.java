package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.diffuse4j.runtime.cpu.Elementwise.requireFloat;
import static dev.diffuse4j.runtime.cpu.VecMath.F;
import static dev.diffuse4j.runtime.cpu.VecMath.LANES;
import static dev.diffuse4j.runtime.cpu.VecMath.ORDER;

/**
 * Normalisations over channels-last data: GroupNorm (optionally fused with SiLU), LayerNorm and
 * softmax over the last dimension. Statistics are accumulated in float over short stretches and
 * carried in double, so they stay accurate over millions of elements.
 */
final class Norms {
    private Norms() {}

    /** GroupNorm stats flush their float partial sums to double after this many rows. */
    private static final int FLUSH_ROWS = 32;

    // ---------------------------------------------------------------- GroupNorm

    static Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        String op = silu ? "groupNorm+silu" : "groupNorm";
        requireFloat(op, x);
        if (x.rank() < 2)
            throw new IllegalArgumentException(op + ": x " + x.describe() + " must be channels-last [B, ..., C]");
        int batch = x.dim(0), c = x.dim(-1);
        if (groups <= 0 || c % groups != 0)
            throw new IllegalArgumentException(op + ": the " + c + " channels of x " + x.describe() + " do not split into " + groups + " groups");
        float[] g = param(op, "gamma", gamma, c, x);
        float[] b = param(op, "beta", beta, c, x);
        Tensor out = Tensor.zeros(DType.F32, x.shape());
        if (x.numel() == 0) return out;
        long positions = x.numel() / ((long) batch * c);
        MemorySegment xs = x.cpuSegment(), os = out.cpuSegment();
        DType dt = x.dtype();
        Walk w = Walk.rows(x.shape(), new long[]{x.offset()}, x.strides());
        long stride = w.innerStride[0];

        // Per-channel shift (the item's first position) keeps the one-pass sums free of cancellation.
        float[][] shift = new float[batch][c];
        Walk.Cursor cur = w.cursor();
        MemorySegment tmp = Scratch.get().segment(0, c);
        for (int i = 0; i < batch; i++) {
            cur.seek(i * positions);
            Floats.load(xs, dt, cur.off[0], stride, tmp, 0, c);
            MemorySegment.copy(tmp, Floats.F32, 0, shift[i], 0, c);
        }

        // Pass 1: per-channel sums of (x - shift) and their squares, split over (item, stretch of positions).
        long rowsPerTask = Math.max(FLUSH_ROWS, Walk.MIN_TASK / c);
        int perItem = (int) Math.min(Integer.MAX_VALUE / Math.max(1, batch), (positions + rowsPerTask - 1) / rowsPerTask);
        long span = (positions + perItem - 1) / perItem;
        double[][] partial = new double[batch * perItem][];
        Parallel.forRange(batch * perItem, 1, (lo, hi) -> {
            Walk.Cursor cu = w.cursor();
            for (int t = lo; t < hi; t++) {
                int item = t / perItem;
                long r0 = item * positions + (t % perItem) * span;
                long r1 = Math.min(r0 + span, (item + 1) * positions);
                if (r0 >= r1) {
                    partial[t] = new double[2 * c];
                    continue;
                }
                cu.seek(r0);
                partial[t] = channelSums(xs, dt, stride, cu, r1 - r0, shift[item], c);
            }
        });

        // Combine channels into groups (parallel-variance formula) in double. The group mean is split
        // into a float part, subtracted from x, and a remainder folded into the shift, so a mean far
        // from zero costs no accuracy.
        int cg = c / groups;
        int padded = (c + LANES - 1) / LANES * LANES; // room for the tail vector
        float[][] mean = new float[batch][padded], scale = new float[batch][padded], shiftOut = new float[batch][padded];
        for (int i = 0; i < batch; i++) {
            double[] s1 = new double[c], s2 = new double[c];
            for (int t = i * perItem; t < (i + 1) * perItem; t++)
                for (int ch = 0; ch < c; ch++) {
                    s1[ch] += partial[t][ch];
                    s2[ch] += partial[t][c + ch];
                }
            double[] cm = new double[cg];
            for (int grp = 0; grp < groups; grp++) {
                double gm = 0, m2 = 0;
                for (int j = 0; j < cg; j++) {
                    int ch = grp * cg + j;
                    double d = s1[ch] / positions;
                    cm[j] = shift[i][ch] + d;
                    gm += cm[j];
                    m2 += Math.max(0, s2[ch] - s1[ch] * d);
                }
                gm /= cg;
                for (int j = 0; j < cg; j++) m2 += positions * (cm[j] - gm) * (cm[j] - gm);
                double rstd = 1.0 / Math.sqrt(m2 / ((double) positions * cg) + eps);
                float hi = (float) gm;
                double lo = gm - hi;
                for (int j = 0; j < cg; j++) {
                    int ch = grp * cg + j;
                    double sc = g == null ? rstd : g[ch] * rstd;
                    mean[i][ch] = hi;
                    scale[i][ch] = (float) sc;
                    shiftOut[i][ch] = (float) ((b == null ? 0 : b[ch]) - lo * sc);
                }
            }
        }

        // Pass 2: (x - mean) * gamma * rstd + beta, then SiLU.
        w.forEachRow((row, col, len, off) -> {
            int item = (int) (row / positions);
            MemorySegment src = xs;
            long sb = off[0] * 4;
            if (dt != DType.F32 || stride != 1) {
                src = Scratch.get().segment(0, c);
                sb = 0;
                Floats.load(xs, dt, off[0], stride, src, 0, c);
            }
            normaliseRow(src, sb, os, row * c * 4, c, mean[item], scale[item], shiftOut[item], silu);
        });
        return out;
    }

    /**
     * Sums over {@code rows} rows of (x - shift) and (x - shift)^2 per channel: [sums..., squares...].
     * Rows go four at a time so each channel's float partial sums are loaded and stored once per four
     * rows; the partials move into double every FLUSH_ROWS rows.
     */
    private static double[] channelSums(MemorySegment xs, DType dt, long stride, Walk.Cursor cu, long rows, float[] shift, int c) {
        double[] acc = new double[2 * c];
        float[] s = new float[c], q = new float[c];
        boolean direct = dt == DType.F32 && stride == 1;
        MemorySegment src = direct ? xs : Scratch.get().segment(1, 4L * c);
        long[] off = new long[4];
        int pending = 0;
        for (long r = 0; r < rows; ) {
            int k = (int) Math.min(4, rows - r);
            for (int j = 0; j < k; j++) {
                if (direct) {
                    off[j] = cu.off[0] * 4;
                } else {
                    off[j] = 4L * j * c;
                    Floats.load(xs, dt, cu.off[0], stride, src, off[j], c);
                }
                cu.next();
            }
            if (k == 4) accumulate4(src, off, shift, s, q, c);
            else for (int j = 0; j < k; j++) accumulate1(src, off[j], shift, s, q, c);
            r += k;
            pending += k;
            if (pending >= FLUSH_ROWS || r == rows) {
                for (int ch = 0; ch < c; ch++) {
                    acc[ch] += s[ch];
                    acc[c + ch] += q[ch];
                }
                java.util.Arrays.fill(s, 0f);
                java.util.Arrays.fill(q, 0f);
                pending = 0;
            }
        }
        return acc;
    }

    private static void accumulate4(MemorySegment x, long[] off, float[] shift, float[] s, float[] q, int c) {
        long o0 = off[0], o1 = off[1], o2 = off[2], o3 = off[3];
        int i = 0;
        for (int up = F.loopBound(c); i < up; i += LANES) {
            FloatVector k = FloatVector.fromArray(F, shift, i);
            FloatVector y0 = FloatVector.fromMemorySegment(F, x, o0 + 4L * i, ORDER).sub(k);
            FloatVector y1 = FloatVector.fromMemorySegment(F, x, o1 + 4L * i, ORDER).sub(k);
            FloatVector y2 = FloatVector.fromMemorySegment(F, x, o2 + 4L * i, ORDER).sub(k);
            FloatVector y3 = FloatVector.fromMemorySegment(F, x, o3 + 4L * i, ORDER).sub(k);
            y0.add(y1).add(y2.add(y3)).add(FloatVector.fromArray(F, s, i)).intoArray(s, i);
            y0.fma(y0, y1.mul(y1)).add(y2.fma(y2, y3.mul(y3))).add(FloatVector.fromArray(F, q, i)).intoArray(q, i);
        }
        for (; i < c; i++) {
            float k = shift[i];
            float y0 = x.get(Floats.F32, o0 + 4L * i) - k, y1 = x.get(Floats.F32, o1 + 4L * i) - k;
            float y2 = x.get(Floats.F32, o2 + 4L * i) - k, y3 = x.get(Floats.F32, o3 + 4L * i) - k;
            s[i] += (y0 + y1) + (y2 + y3);
            q[i] += (y0 * y0 + y1 * y1) + (y2 * y2 + y3 * y3);
        }
    }

    private static void accumulate1(MemorySegment x, long o, float[] shift, float[] s, float[] q, int c) {
        int i = 0;
        for (int up = F.loopBound(c); i < up; i += LANES) {
            FloatVector y = FloatVector.fromMemorySegment(F, x, o + 4L * i, ORDER).sub(FloatVector.fromArray(F, shift, i));
            FloatVector.fromArray(F, s, i).add(y).intoArray(s, i);
            y.fma(y, FloatVector.fromArray(F, q, i)).intoArray(q, i);
        }
        for (; i < c; i++) {
            float y = x.get(Floats.F32, o + 4L * i) - shift[i];
            s[i] += y;
            q[i] += y * y;
        }
    }

    /** (x - mean) * scale + shift per channel, optionally SiLU; the tail runs through padded scratch. */
    private static void normaliseRow(MemorySegment s, long sb, MemorySegment d, long db, int n,
                                     float[] mean, float[] scale, float[] shift, boolean silu) {
        int body = F.loopBound(n);
        if (silu) normaliseSiluLoop(s, sb, d, db, body, mean, scale, shift, 0);
        else normaliseLoop(s, sb, d, db, body, mean, scale, shift, 0);
        if (body < n) {
            MemorySegment pad = Scratch.get().pad();
            long tail = 4L * (n - body);
            MemorySegment.copy(s, sb + 4L * body, pad, 0, tail);
            if (silu) normaliseSiluLoop(pad, 0, pad, 0, LANES, mean, scale, shift, body);
            else normaliseLoop(pad, 0, pad, 0, LANES, mean, scale, shift, body);
            MemorySegment.copy(pad, 0, d, db + 4L * body, tail);
        }
    }

    private static void normaliseLoop(MemorySegment s, long sb, MemorySegment d, long db, int n,
                                      float[] mean, float[] scale, float[] shift, int ch) {
        for (int i = 0; i < n; i += LANES)
            FloatVector.fromMemorySegment(F, s, sb + 4L * i, ORDER).sub(FloatVector.fromArray(F, mean, ch + i))
                    .fma(FloatVector.fromArray(F, scale, ch + i), FloatVector.fromArray(F, shift, ch + i))
                    .intoMemorySegment(d, db + 4L * i, ORDER);
    }

    private static void normaliseSiluLoop(MemorySegment s, long sb, MemorySegment d, long db, int n,
                                          float[] mean, float[] scale, float[] shift, int ch) {
        for (int i = 0; i < n; i += LANES) {
            FloatVector y = FloatVector.fromMemorySegment(F, s, sb + 4L * i, ORDER).sub(FloatVector.fromArray(F, mean, ch + i))
                    .fma(FloatVector.fromArray(F, scale, ch + i), FloatVector.fromArray(F, shift, ch + i));
            VecMath.silu(y).intoMemorySegment(d, db + 4L * i, ORDER);
        }
    }

    // ---------------------------------------------------------------- LayerNorm

    static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        String op = "layerNorm";
        requireFloat(op, x);
        if (x.rank() < 1) throw new IllegalArgumentException(op + ": x " + x.describe() + " has no last dimension to normalise");
        int d = x.dim(-1);
        float[] g = param(op, "gamma", gamma, d, x);
        float[] b = param(op, "beta", beta, d, x);
        Tensor out = Tensor.zeros(DType.F32, x.shape());
        MemorySegment os = out.cpuSegment();
        forEachF32Row(x, d, (row, src, sb) -> {
            long db = row * d * 4;
            // Summing x - x[0] keeps float partial sums small when the row sits far from zero.
            float first = d == 0 ? 0f : src.get(Floats.F32, sb);
            double mean = first + sum(src, sb, d, first) / d;
            float hi = (float) mean;
            double var = sumSquares(src, sb, d, hi) / d - (mean - hi) * (mean - hi);
            double rstd = 1.0 / Math.sqrt(Math.max(var, 0) + eps);
            layerNormRow(src, sb, os, db, d, hi, (float) rstd, (float) ((mean - hi) * rstd), g, b);
        });
        return out;
    }

    /** A last-dimension row of n values as F32: {@code src} at byte offset {@code sb}. */
    @FunctionalInterface
    private interface F32Row {
        void accept(long row, MemorySegment src, long sb);
    }

    /** Every last-dimension row of x, read in place when x is F32 with unit stride, else converted into scratch. */
    private static void forEachF32Row(Tensor x, int n, F32Row body) {
        MemorySegment xs = x.cpuSegment();
        DType dt = x.dtype();
        Walk w = Walk.rows(x.shape(), new long[]{x.offset()}, x.strides());
        long stride = w.innerStride[0];
        w.forEachRow((row, col, len, off) -> {
            if (dt == DType.F32 && stride == 1) {
                body.accept(row, xs, off[0] * 4);
                return;
            }
            MemorySegment src = Scratch.get().segment(0, n);
            Floats.load(xs, dt, off[0], stride, src, 0, n);
            body.accept(row, src, 0);
        });
    }

    /** y = ((x - mean) * rstd - meanLoTimesRstd) * gamma + beta; the mean is hi (float) + lo, see groupNorm. */
    private static void layerNormRow(MemorySegment s, long sb, MemorySegment d, long db, int n,
                                     float mean, float rstd, float meanLoTimesRstd, float[] gamma, float[] beta) {
        FloatVector m = FloatVector.broadcast(F, mean), r = FloatVector.broadcast(F, rstd), c = FloatVector.broadcast(F, -meanLoTimesRstd);
        int i = 0;
        for (int up = F.loopBound(n); i < up; i += LANES) {
            FloatVector y = FloatVector.fromMemorySegment(F, s, sb + 4L * i, ORDER).sub(m).fma(r, c);
            if (gamma != null) y = y.mul(FloatVector.fromArray(F, gamma, i));
            if (beta != null) y = y.add(FloatVector.fromArray(F, beta, i));
            y.intoMemorySegment(d, db + 4L * i, ORDER);
        }
        if (i < n) {
            VectorMask<Float> k = F.indexInRange(i, n);
            FloatVector y = FloatVector.fromMemorySegment(F, s, sb + 4L * i, ORDER, k).sub(m).fma(r, c);
            if (gamma != null) y = y.mul(FloatVector.fromArray(F, gamma, i, k));
            if (beta != null) y = y.add(FloatVector.fromArray(F, beta, i, k));
            y.intoMemorySegment(d, db + 4L * i, ORDER, k);
        }
    }

    /** Sum of (x - shift) over a run, float lanes carried into double. */
    private static double sum(MemorySegment s, long sb, int n, float shift) {
        FloatVector acc = FloatVector.zero(F), k = FloatVector.broadcast(F, shift);
        int i = 0;
        for (int up = F.loopBound(n); i < up; i += LANES)
            acc = acc.add(FloatVector.fromMemorySegment(F, s, sb + 4L * i, ORDER).sub(k));
        double total = lanes(acc);
        for (; i < n; i++) total += s.get(Floats.F32, sb + 4L * i) - shift;
        return total;
    }

    /** Sum of (x - mean)^2 over a run. */
    private static double sumSquares(MemorySegment s, long sb, int n, float mean) {
        FloatVector acc = FloatVector.zero(F), m = FloatVector.broadcast(F, mean);
        int i = 0;
        for (int up = F.loopBound(n); i < up; i += LANES) {
            FloatVector y = FloatVector.fromMemorySegment(F, s, sb + 4L * i, ORDER).sub(m);
            acc = y.fma(y, acc);
        }
        double total = lanes(acc);
        for (; i < n; i++) {
            double y = s.get(Floats.F32, sb + 4L * i) - mean;
            total += y * y;
        }
        return total;
    }

    private static double lanes(FloatVector v) {
        double t = 0;
        for (int l = 0; l < LANES; l++) t += v.lane(l);
        return t;
    }

    // ---------------------------------------------------------------- softmax

    static Tensor softmax(Tensor x) {
        requireFloat("softmax", x);
        if (x.rank() < 1) throw new IllegalArgumentException("softmax: x " + x.describe() + " has no last dimension");
        int n = x.dim(-1);
        Tensor out = Tensor.zeros(DType.F32, x.shape());
        MemorySegment os = out.cpuSegment();
        forEachF32Row(x, n, (row, src, sb) -> softmaxRow(src, sb, os, row * n * 4, n));
        return out;
    }

    private static void softmaxRow(MemorySegment s, long sb, MemorySegment d, long db, int n) {
        int body = F.loopBound(n);
        FloatVector mx = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < body; i += LANES) mx = mx.max(FloatVector.fromMemorySegment(F, s, sb + 4L * i, ORDER));
        float max = mx.reduceLanes(VectorOperators.MAX);
        for (int i = body; i < n; i++) max = Math.max(max, s.get(Floats.F32, sb + 4L * i));
        double sum = expSum(s, sb, d, db, body, max);
        if (body < n) { // tail through scratch padded with -inf, whose exp adds nothing
            MemorySegment pad = Scratch.get().pad();
            for (int i = 0; i < LANES; i++) pad.set(Floats.F32, 4L * i, Float.NEGATIVE_INFINITY);
            long tail = 4L * (n - body);
            MemorySegment.copy(s, sb + 4L * body, pad, 0, tail);
            sum += expSum(pad, 0, pad, 0, LANES, max);
            MemorySegment.copy(pad, 0, d, db + 4L * body, tail);
        }
        FloatVector inv = FloatVector.broadcast(F, (float) (1.0 / sum));
        int i = 0;
        for (; i < body; i += LANES)
            FloatVector.fromMemorySegment(F, d, db + 4L * i, ORDER).mul(inv).intoMemorySegment(d, db + 4L * i, ORDER);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromMemorySegment(F, d, db + 4L * i, ORDER, m).mul(inv).intoMemorySegment(d, db + 4L * i, ORDER, m);
        }
    }

    /** Writes exp(x - max) over n (a multiple of the vector length) elements and returns their sum. */
    private static double expSum(MemorySegment s, long sb, MemorySegment d, long db, int n, float max) {
        FloatVector m = FloatVector.broadcast(F, max), acc = FloatVector.zero(F);
        for (int i = 0; i < n; i += LANES) {
            FloatVector e = VecMath.exp(FloatVector.fromMemorySegment(F, s, sb + 4L * i, ORDER).sub(m));
            e.intoMemorySegment(d, db + 4L * i, ORDER);
            acc = acc.add(e);
        }
        return lanes(acc);
    }

    // ---------------------------------------------------------------- parameters

    /** gamma/beta as a float array of {@code n} values, or null when absent. */
    private static float[] param(String op, String name, Tensor p, int n, Tensor x) {
        if (p == null) return null;
        requireFloat(op + " " + name, p);
        if (p.numel() != n)
            throw new IllegalArgumentException(op + ": " + name + " " + p.describe() + " must hold " + n
                    + " values, one per channel of x " + x.describe());
        return p.toFloatArray();
    }
}
