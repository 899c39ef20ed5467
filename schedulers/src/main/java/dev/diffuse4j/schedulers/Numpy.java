package dev.diffuse4j.schedulers;

/**
 * The few numpy float64 routines diffusers builds timestep and sigma tables with, reproduced with numpy's
 * own evaluation order so the tables match to the bit.
 */
final class Numpy {
    private Numpy() {}

    /** {@code np.linspace(start, stop, num)}: {@code i * step + start}, last element exactly {@code stop}. */
    static double[] linspace(double start, double stop, int num) {
        if (num < 1) throw new IllegalArgumentException("linspace: num must be >= 1, got " + num);
        double[] y = new double[num];
        if (num == 1) {
            y[0] = start;
            return y;
        }
        double step = (stop - start) / (num - 1);
        for (int i = 0; i < num; i++) y[i] = i * step + start;
        y[num - 1] = stop;
        return y;
    }

    /**
     * {@code np.arange(start, stop, step)} for floats: {@code ceil((stop - start) / step)} elements; element i is
     * {@code start + i * delta} with {@code delta = (start + step) - start}, as numpy's fill function computes it.
     */
    static double[] arange(double start, double stop, double step) {
        double len = Math.ceil((stop - start) / step);
        int n = len > 0 ? Math.toIntExact((long) len) : 0;
        double[] y = new double[n];
        if (n == 0) return y;
        y[0] = start;
        if (n == 1) return y;
        y[1] = start + step;
        double delta = y[1] - start;
        for (int i = 2; i < n; i++) y[i] = start + i * delta;
        return y;
    }

    /** {@code np.round}: round half to even. */
    static double round(double x) { return Math.rint(x); }

    /** {@code np.interp(x, xp, fp)} for increasing {@code xp}. */
    static double interp(double x, double[] xp, double[] fp) {
        int n = xp.length;
        if (x < xp[0]) return fp[0];
        if (x >= xp[n - 1]) return fp[n - 1];
        int lo = 0, hi = n - 1;                  // invariant xp[lo] <= x < xp[hi]
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (xp[mid] <= x) lo = mid; else hi = mid;
        }
        if (xp[lo] == x) return fp[lo];
        double slope = (fp[lo + 1] - fp[lo]) / (xp[lo + 1] - xp[lo]);
        return slope * (x - xp[lo]) + fp[lo];
    }
}
