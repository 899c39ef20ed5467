package dev.diffuse4j.pipelines.image;

/** Attention maps drawn over the image they belong to: bilinear upsampling, a perceptual colour ramp, alpha blend. */
public final class Heatmaps {
    private Heatmaps() {}

    /**
     * @param map   values [mh * mw] (e.g. one text token's attention over the latent grid)
     * @param alpha weight of the heat colours over a greyed copy of the image
     */
    public static RgbImage overlay(RgbImage img, float[] map, int mh, int mw, float alpha) {
        if (map.length != mh * mw) throw new IllegalArgumentException("map of " + map.length + " values is not " + mh + "x" + mw);
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        for (float v : map) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        float range = hi > lo ? hi - lo : 1f;
        int w = img.width(), h = img.height();
        byte[] out = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            float fy = Math.max(0, (y + 0.5f) * mh / h - 0.5f);
            int y0 = Math.min((int) fy, mh - 1), y1 = Math.min(y0 + 1, mh - 1);
            float ty = fy - y0;
            for (int x = 0; x < w; x++) {
                float fx = Math.max(0, (x + 0.5f) * mw / w - 0.5f);
                int x0 = Math.min((int) fx, mw - 1), x1 = Math.min(x0 + 1, mw - 1);
                float tx = fx - x0;
                float v = (1 - ty) * ((1 - tx) * map[y0 * mw + x0] + tx * map[y0 * mw + x1])
                        + ty * ((1 - tx) * map[y1 * mw + x0] + tx * map[y1 * mw + x1]);
                float t = (v - lo) / range;
                int[] c = ramp(t);
                float grey = (img.red(x, y) * 0.299f + img.green(x, y) * 0.587f + img.blue(x, y) * 0.114f) * 0.6f;
                int o = (y * w + x) * 3;
                for (int k = 0; k < 3; k++) out[o + k] = (byte) Math.round((1 - alpha) * grey + alpha * c[k]);
            }
        }
        return new RgbImage(w, h, out);
    }

    /** A dark-blue -> magenta -> orange -> pale-yellow ramp (inferno-like), t in [0, 1]. */
    static int[] ramp(float t) {
        float[][] stops = {{0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}};
        t = Math.max(0, Math.min(1, t)) * (stops.length - 1);
        int i = Math.min((int) t, stops.length - 2);
        float f = t - i;
        int[] c = new int[3];
        for (int k = 0; k < 3; k++) c[k] = Math.round(stops[i][k] + f * (stops[i + 1][k] - stops[i][k]));
        return c;
    }
}
