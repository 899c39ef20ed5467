package dev.diffuse4j.attention.guidance;

/**
 * Otsu's threshold of an attention map, as the Self-Cross / INITNO code gets it: the map times 255
 * (float32) cast to integers, OpenCV's Otsu over those integer levels (the level maximising the
 * between-class variance, classes {@code <= t} and {@code > t}; the first maximum wins), and the mask
 * {@code map >= t / 255}. The mask is a constant for gradients.
 */
public final class Otsu {
    private static final double FLT_EPSILON = 1.1920928955078125e-7;

    private Otsu() {}

    /** The Otsu level of non-negative integer samples (OpenCV's {@code THRESH_OTSU} value). */
    public static int threshold(int[] levels) {
        if (levels.length == 0) throw new IllegalArgumentException("Otsu threshold of an empty map");
        int top = 0;
        for (int v : levels) {
            if (v < 0) throw new IllegalArgumentException("Otsu threshold: negative level " + v);
            top = Math.max(top, v);
        }
        double[] hist = new double[top + 1];
        for (int v : levels) hist[v]++;
        double n = levels.length, mean = 0;
        for (int i = 0; i <= top; i++) mean += i * hist[i] / n;
        double q1 = 0, sum1 = 0, best = 0;
        int bestLevel = 0;
        for (int i = 0; i <= top; i++) {
            double p = hist[i] / n;
            q1 += p;
            sum1 += i * p;
            double q2 = 1 - q1;
            if (Math.min(q1, q2) < FLT_EPSILON || Math.max(q1, q2) > 1 - FLT_EPSILON) continue;
            double mu1 = sum1 / q1, mu2 = (mean - sum1) / q2;
            double sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2);
            if (sigma > best) {
                best = sigma;
                bestLevel = i;
            }
        }
        return bestLevel;
    }

    /** The integer levels the authors threshold: {@code uint16(float32(v) * 255)}. */
    public static int[] levels(double[] map) {
        int[] out = new int[map.length];
        for (int i = 0; i < map.length; i++) {
            float v = (float) map[i] * 255f;
            if (!(v >= 0)) throw new IllegalArgumentException("Otsu threshold: map value " + map[i] + " at " + i + " is not a non-negative number");
            out[i] = (int) v;
        }
        return out;
    }

    /** The foreground mask {@code map >= threshold / 255} (compared in float32, as torch does). */
    public static boolean[] mask(double[] map) {
        float thr = (float) (threshold(levels(map)) / 255.0);
        boolean[] out = new boolean[map.length];
        for (int i = 0; i < map.length; i++) out[i] = (float) map[i] >= thr;
        return out;
    }

    /**
     * INITNO's "clean" mask: the 4-connected component of {@code mask} containing pixel (y, x), or an
     * empty mask when that pixel is background.
     */
    public static boolean[] componentAt(boolean[] mask, int h, int w, int y, int x) {
        if (mask.length != h * w) throw new IllegalArgumentException("mask of " + mask.length + " values is not " + h + "x" + w);
        boolean[] out = new boolean[h * w];
        if (!mask[y * w + x]) return out;
        int[] stack = new int[h * w];
        int top = 0;
        stack[top++] = y * w + x;
        out[y * w + x] = true;
        while (top > 0) {
            int p = stack[--top], py = p / w, px = p % w;
            int[][] next = {{py - 1, px}, {py + 1, px}, {py, px - 1}, {py, px + 1}};
            for (int[] q : next) {
                if (q[0] < 0 || q[0] >= h || q[1] < 0 || q[1] >= w) continue;
                int i = q[0] * w + q[1];
                if (mask[i] && !out[i]) {
                    out[i] = true;
                    stack[top++] = i;
                }
            }
        }
        return out;
    }
}
