package dev.diffuse4j.attention.guidance;

/**
 * dLoss/dMaps for a {@link GuidanceMaps}: {@code cross} [h*w, tokens] and {@code self} [h*w, h*w],
 * the seeds of the backward pass through the attention layers.
 */
public record MapGradient(double[] cross, double[] self) {
    /** The gradient of {@code this * a + that * b}. */
    public static MapGradient combine(double a, MapGradient x, double b, MapGradient y) {
        double[] c = new double[x.cross.length], s = new double[x.self.length];
        for (int i = 0; i < c.length; i++) c[i] = a * x.cross[i] + b * y.cross[i];
        for (int i = 0; i < s.length; i++) s[i] = a * x.self[i] + b * y.self[i];
        return new MapGradient(c, s);
    }

    public boolean isZero() {
        for (double v : cross) if (v != 0) return false;
        for (double v : self) if (v != 0) return false;
        return true;
    }
}
