package dev.diffuse4j.runtime;

import java.util.Arrays;

/** Shape arithmetic shared by the runtime and its backends. */
public final class Shapes {
    private Shapes() {}

    public static void check(int[] shape) {
        for (int s : shape)
            if (s < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
    }

    public static long numel(int[] shape) {
        long n = 1;
        for (int s : shape) n = Math.multiplyExact(n, (long) s);
        return n;
    }

    public static long[] contiguousStrides(int[] shape) {
        long[] st = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            st[i] = s;
            s *= Math.max(shape[i], 1);
        }
        return st;
    }

    public static boolean isContiguous(int[] shape, long[] strides) {
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != s) return false;
            s *= shape[i];
        }
        return true;
    }

    /** Normalises a possibly negative axis. */
    public static int axis(int d, int rank) {
        int a = d < 0 ? d + rank : d;
        if (a < 0 || a >= rank) throw new IndexOutOfBoundsException("dimension " + d + " is out of range for rank " + rank);
        return a;
    }

    /** Resolves a reshape target with at most one -1 entry. */
    public static int[] inferReshape(int[] from, int[] to) {
        long n = numel(from);
        int infer = -1;
        long known = 1;
        int[] out = to.clone();
        for (int i = 0; i < to.length; i++) {
            if (to[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("reshape " + Arrays.toString(from) + " -> " + Arrays.toString(to) + ": more than one -1");
                infer = i;
            } else if (to[i] < 0) {
                throw new IllegalArgumentException("reshape " + Arrays.toString(from) + " -> " + Arrays.toString(to) + ": negative size");
            } else known *= to[i];
        }
        if (infer >= 0) {
            if (known == 0 || n % known != 0)
                throw new IllegalArgumentException("reshape " + Arrays.toString(from) + " -> " + Arrays.toString(to) + ": sizes do not divide");
            out[infer] = (int) (n / known);
        } else if (known != n) {
            throw new IllegalArgumentException("reshape " + Arrays.toString(from) + " (" + n + " elements) -> " + Arrays.toString(to) + " (" + known + " elements)");
        }
        return out;
    }

    /** Numpy-style broadcast of two shapes; the error names the op. */
    public static int[] broadcast(String op, int[] a, int[] b) {
        int r = Math.max(a.length, b.length);
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i < r - a.length ? 1 : a[i - (r - a.length)];
            int db = i < r - b.length ? 1 : b[i - (r - b.length)];
            if (da != db && da != 1 && db != 1)
                throw new IllegalArgumentException(op + ": shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Strides (in elements) to read a tensor of {@code shape}/{@code strides} broadcast to {@code target}: 0 on broadcast dims. */
    public static long[] broadcastStrides(int[] shape, long[] strides, int[] target) {
        long[] out = new long[target.length];
        int off = target.length - shape.length;
        for (int i = 0; i < target.length; i++) {
            if (i < off) out[i] = 0;
            else out[i] = shape[i - off] == 1 && target[i] != 1 ? 0 : strides[i - off];
        }
        return out;
    }

    public static int[] concat(int[] a, int... b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Product of the dims before the last: the "rows" of a tensor seen as a [rows, last] matrix. */
    public static long rows(int[] shape) {
        long n = 1;
        for (int i = 0; i < shape.length - 1; i++) n *= shape[i];
        return n;
    }
}
