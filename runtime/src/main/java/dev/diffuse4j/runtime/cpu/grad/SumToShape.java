package dev.diffuse4j.runtime.cpu.grad;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cpu.Parallel;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** Sums a tensor down to a shape it was broadcast from: the reverse of broadcasting (bias and broadcast-operand gradients). */
public final class SumToShape {
    private SumToShape() {}

    public static Tensor sumToShape(Tensor x, int... shape) {
        int r = x.rank();
        int[] xs = x.shape();
        if (shape.length > r) throw mismatch(x, shape);
        int[] target = new int[r];
        Arrays.fill(target, 1);
        for (int i = 0; i < shape.length; i++) target[r - shape.length + i] = shape[i];
        for (int d = 0; d < r; d++) if (target[d] != xs[d] && target[d] != 1) throw mismatch(x, shape);
        Tensor out = Tensor.zeros(DType.F32, shape);
        if (x.numel() == 0) return out;
        // Source strides of the kept dimensions (outer loop over outputs) and of the summed ones (inner loop).
        long[] st = new long[r];
        for (int d = r - 1, s = 1; d >= 0; d--) { st[d] = s; s *= xs[d]; }
        int nk = 0, nr = 0;
        for (int d = 0; d < r; d++) if (target[d] == xs[d] && xs[d] != 1) nk++; else if (xs[d] != 1) nr++;
        int[] kShape = new int[nk], rShape = new int[nr];
        long[] kSt = new long[nk], rSt = new long[nr];
        for (int d = 0, k = 0, q = 0; d < r; d++) {
            if (xs[d] == 1) continue;
            if (target[d] == xs[d]) { kShape[k] = xs[d]; kSt[k++] = st[d]; } else { rShape[q] = xs[d]; rSt[q++] = st[d]; }
        }
        long inner = 1;
        for (int v : rShape) inner *= v;
        int outN = Math.toIntExact(out.numel());
        long perOut = inner;
        try (HostF32 in = new HostF32("sumToShape", "x", x)) {
            MemorySegment os = out.cpuSegment();
            long ob = out.offset() * 4;
            if (outN == 1) {
                os.set(HostF32.F, ob, (float) sumAll(in, x.numel()));
                return out;
            }
            Parallel.forRange(outN, (int) Math.max(1, (1 << 14) / Math.max(1, perOut)), (lo, hi) -> {
                int[] kc = new int[kShape.length];
                int[] rc = new int[rShape.length];
                for (int o = lo; o < hi; o++) {
                    // kept coordinates of output o (its row-major index over the kept dims)
                    long base = 0;
                    for (int k = kShape.length - 1, rem = o; k >= 0; k--) { kc[k] = rem % kShape[k]; rem /= kShape[k]; base += kc[k] * kSt[k]; }
                    double acc = 0;
                    Arrays.fill(rc, 0);
                    long off = base;
                    for (long i = 0; i < perOut; i++) {
                        acc += in.get(off);
                        for (int q = rShape.length - 1; q >= 0; q--) {
                            if (++rc[q] < rShape[q]) { off += rSt[q]; break; }
                            rc[q] = 0;
                            off -= (long) (rShape[q] - 1) * rSt[q];
                        }
                    }
                    os.set(HostF32.F, ob + 4L * o, (float) acc);
                }
            });
        }
        return out;
    }

    private static double sumAll(HostF32 in, long n) {
        int chunks = (int) Math.min(Parallel.threads() * 4L, Math.max(1, n >> 14));
        double[] part = new double[chunks];
        long per = (n + chunks - 1) / chunks;
        Parallel.forEach(chunks, c -> {
            double a = 0;
            for (long i = c * per, e = Math.min(n, i + per); i < e; i++) a += in.get(i);
            part[c] = a;
        });
        double s = 0;
        for (double p : part) s += p;
        return s;
    }

    private static IllegalArgumentException mismatch(Tensor x, int[] shape) {
        return new IllegalArgumentException("sumToShape: " + x.describe() + " does not broadcast from " + Arrays.toString(shape));
    }
}
