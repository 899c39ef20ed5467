package dev.diffuse4j.attention.guidance;

import java.util.Random;

/** Random attention maps shaped like a cond-only pass: two subject tokens with blobs that overlap. */
final class GuidanceFixtures {
    private GuidanceFixtures() {}

    /**
     * Cross maps [h*w, tokens] whose rows are probabilities; subject token t gets extra mass
     * {@code strength} in a disc around its centre. Self maps: rows are softmaxes of random logits
     * plus a bump around the query pixel.
     */
    static GuidanceMaps maps(long seed, int h, int w, int tokens, int[] subjects, double strength) {
        Random r = new Random(seed);
        int n = h * w;
        double[] cross = new double[n * tokens];
        for (int p = 0; p < n; p++) {
            int y = p / w, x = p % w;
            double sum = 0;
            for (int t = 0; t < tokens; t++) {
                double v = 0.5 + r.nextDouble();
                if (t == 0) v += 20; // the start token takes most mass, as in real maps
                for (int s = 0; s < subjects.length; s++) {
                    if (subjects[s] != t) continue;
                    double cy = h * (0.35 + 0.3 * s), cx = w * (0.4 + 0.2 * s);
                    double d2 = (y - cy) * (y - cy) + (x - cx) * (x - cx);
                    v += strength * Math.exp(-d2 / (h * w / 8.0)) * (0.8 + 0.4 * r.nextDouble());
                }
                sum += cross[p * tokens + t] = v;
            }
            for (int t = 0; t < tokens; t++) cross[p * tokens + t] /= sum;
        }
        double[] self = new double[n * n];
        for (int p = 0; p < n; p++) {
            int py = p / w, px = p % w;
            double sum = 0;
            for (int q = 0; q < n; q++) {
                int qy = q / w, qx = q % w;
                double d2 = (py - qy) * (py - qy) + (px - qx) * (px - qx);
                sum += self[p * n + q] = Math.exp(r.nextGaussian() * 0.5 - d2 / 6.0);
            }
            for (int q = 0; q < n; q++) self[p * n + q] /= sum;
        }
        return new GuidanceMaps(h, w, tokens, cross, self);
    }

    static GuidanceMaps withCross(GuidanceMaps m, double[] cross) { return new GuidanceMaps(m.height(), m.width(), m.tokens(), cross, m.self()); }

    static GuidanceMaps withSelf(GuidanceMaps m, double[] self) { return new GuidanceMaps(m.height(), m.width(), m.tokens(), m.cross(), self); }
}
