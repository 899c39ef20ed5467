package dev.diffuse4j.attention;

/**
 * The Jensen-Shannon divergence Conditional Balance's analysis uses between two diagonal Gaussians
 * ({@code grade_layers_jsd.compute_jsd}): {@code 0.5 (KL(P1||M) + KL(P2||M))} with the moment midpoint
 * {@code M = N((m1+m2)/2, (s1^2+s2^2)/2)} (not the true mixture), KL summed over dimensions.
 */
public final class GaussianJsd {
    private GaussianJsd() {}

    public static double of(float[] m1, float[] s1, float[] m2, float[] s2) {
        int n = m1.length;
        if (s1.length != n || m2.length != n || s2.length != n)
            throw new IllegalArgumentException("JSD of Gaussians with " + n + ", " + s1.length + ", " + m2.length + ", " + s2.length + " dimensions");
        double kl1 = 0, kl2 = 0;
        for (int i = 0; i < n; i++) {
            double v1 = (double) s1[i] * s1[i], v2 = (double) s2[i] * s2[i];
            double vm = 0.5 * (v1 + v2), mm = 0.5 * ((double) m1[i] + m2[i]);
            double d1 = mm - m1[i], d2 = mm - m2[i];
            kl1 += v1 / vm + d1 * d1 / vm - 1 + Math.log(vm / v1);
            kl2 += v2 / vm + d2 * d2 / vm - 1 + Math.log(vm / v2);
        }
        return 0.5 * (0.5 * kl1 + 0.5 * kl2);
    }
}
