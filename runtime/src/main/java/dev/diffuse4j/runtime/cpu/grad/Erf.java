package dev.diffuse4j.runtime.cpu.grad;

/** The error function in double: Maclaurin series near zero, a Laplace continued fraction for erfc in the tails. */
public final class Erf {
    private Erf() {}

    public static double erf(double x) {
        double a = Math.abs(x);
        double r;
        if (a < 2.5) {
            // erf(x) = 2/sqrt(pi) sum_n (-1)^n x^(2n+1) / (n! (2n+1)); terms stay below ~30 for |x| < 2.5
            double term = a, sum = a, x2 = a * a;
            for (int n = 1; n < 80; n++) {
                term *= -x2 / n;
                double t = term / (2 * n + 1);
                sum += t;
                if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            r = 1 - erfcTail(a);
        }
        return x < 0 ? -r : r;
    }

    /** erfc(a) for a >= 2.5: exp(-a^2)/sqrt(pi) * 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))). */
    private static double erfcTail(double a) {
        double f = a;
        for (int k = 60; k >= 1; k--) f = a + (k / 2.0) / f;
        return Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
    }
}
