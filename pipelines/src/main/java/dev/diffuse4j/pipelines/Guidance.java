package dev.diffuse4j.pipelines;

/** Classifier-free guidance on a model output laid out [uncond half; cond half]. */
public final class Guidance {
    private Guidance() {}

    /**
     * {@code u + g (c - u)} per element, then, when {@code rescale} phi &gt; 0, diffusers'
     * rescale_noise_cfg per batch item: {@code phi * x * std(c)/std(x) + (1 - phi) * x} with unbiased
     * standard deviations over all of an item's elements.
     *
     * @param output [2B * per] model output: B uncond items then B cond items
     * @param items  B
     */
    public static float[] apply(float[] output, int items, double scale, double rescale) {
        int half = output.length / 2, per = half / items;
        float[] out = new float[half];
        float g = (float) scale;
        for (int i = 0; i < half; i++) {
            float u = output[i], c = output[half + i];
            out[i] = u + g * (c - u);
        }
        if (rescale > 0) {
            for (int b = 0; b < items; b++) {
                double stdCond = std(output, half + b * per, per), stdGuided = std(out, b * per, per);
                double factor = stdGuided == 0 ? 1 : stdCond / stdGuided;
                for (int i = b * per; i < (b + 1) * per; i++)
                    out[i] = (float) (rescale * out[i] * factor + (1 - rescale) * out[i]);
            }
        }
        return out;
    }

    /** Unbiased (n-1) standard deviation of a[off .. off+n), as torch.std computes it. */
    static double std(float[] a, int off, int n) {
        double mean = 0;
        for (int i = off; i < off + n; i++) mean += a[i];
        mean /= n;
        double ss = 0;
        for (int i = off; i < off + n; i++) ss += (a[i] - mean) * (a[i] - mean);
        return Math.sqrt(ss / Math.max(n - 1, 1));
    }
}
