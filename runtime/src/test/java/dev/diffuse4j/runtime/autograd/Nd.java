package dev.diffuse4j.runtime.autograd;

import dev.diffuse4j.runtime.Tensor;

import java.util.Arrays;
import java.util.Random;

/** A float64 n-d array for the test-side reference forwards (row-major, naive loops). */
record Nd(int[] shape, double[] v) {
    static Nd zeros(int... shape) { return new Nd(shape.clone(), new double[numel(shape)]); }

    /** Random values in [-1, 1), rounded to float so the runtime sees the same numbers. */
    static Nd random(Random r, int... shape) {
        Nd a = zeros(shape);
        for (int i = 0; i < a.v.length; i++) a.v[i] = (float) (r.nextDouble() * 2 - 1);
        return a;
    }

    static int numel(int[] s) {
        int n = 1;
        for (int d : s) n *= d;
        return n;
    }

    int rank() { return shape.length; }

    int dim(int d) { return shape[d < 0 ? d + shape.length : d]; }

    int index(int... idx) {
        int f = 0;
        for (int d = 0; d < shape.length; d++) f = f * shape[d] + idx[d];
        return f;
    }

    double get(int... idx) { return v[index(idx)]; }

    void set(double x, int... idx) { v[index(idx)] = x; }

    int[] coords(int flat) {
        int[] c = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) { c[d] = flat % shape[d]; flat /= shape[d]; }
        return c;
    }

    /** Element of this array that broadcasts to coordinate {@code c} of a (higher or equal rank) array. */
    double bget(int[] c) {
        int f = 0;
        for (int d = 0; d < shape.length; d++) {
            int cd = c[c.length - shape.length + d];
            f = f * shape[d] + (shape[d] == 1 ? 0 : cd);
        }
        return v[f];
    }

    Nd copy() { return new Nd(shape.clone(), v.clone()); }

    Tensor tensor() {
        float[] f = new float[v.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) v[i];
        return Tensor.of(f, shape);
    }

    static Nd of(Tensor t) {
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return new Nd(t.shape(), d);
    }

    static int[] broadcast(int[] a, int[] b) {
        int r = Math.max(a.length, b.length);
        int[] s = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1, db = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            if (da != db && da != 1 && db != 1) throw new IllegalArgumentException(Arrays.toString(a) + " vs " + Arrays.toString(b));
            s[i] = Math.max(da, db);
        }
        return s;
    }
}
