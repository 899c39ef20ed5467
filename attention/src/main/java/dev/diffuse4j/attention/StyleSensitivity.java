package dev.diffuse4j.attention;

import java.util.Arrays;

/**
 * Conditional Balance's layer score ({@code grade_layers_jsd.py}): for one layer, step and feature
 * type, images are Gaussians of their per-channel moments; the score is the mean JSD between images of
 * the same style over the mean JSD between images of different styles. Low = the features cluster by
 * style = a style-sensitive layer.
 *
 * <p>Images are ordered style-major ({@code image = style * samples + sample}). The authors' loop takes
 * each style's window of images, pairs every image of the window with every later image, and counts a
 * pair as same-style when both lie in the window; the normalisers are {@code C(samples,2) * styles}
 * and {@code C(styles,2) * samples^2}. Their window starts at {@code style * 2} instead of
 * {@code style * samples} (a bug that mixes styles and counts pairs twice); {@code publishedWindow}
 * reproduces it, otherwise the window is the style's own images.
 */
public final class StyleSensitivity {
    private StyleSensitivity() {}

    /**
     * @param means per image, the moment vector (all images the same length)
     * @param stds  per image, the standard deviations
     */
    public static double score(float[][] means, float[][] stds, int styles, int samples, boolean publishedWindow) {
        int images = styles * samples;
        if (styles < 2 || samples < 2) throw new IllegalArgumentException("style score needs >= 2 styles and >= 2 samples each, got " + styles + " x " + samples);
        if (means.length != images || stds.length != images)
            throw new IllegalArgumentException("style score: " + means.length + " images for " + styles + " styles x " + samples + " samples");
        int stride = publishedWindow ? 2 : samples;
        if ((styles - 1) * stride + samples > images)
            throw new IllegalArgumentException("the published window (style * 2) runs past the last image for " + samples + " samples");
        double[][] jsd = new double[images][images];
        for (double[] row : jsd) Arrays.fill(row, Double.NaN);
        double same = 0, different = 0;
        for (int s = 0; s < styles; s++) {
            int lo = s * stride, hi = lo + samples;
            for (int i = lo; i < hi; i++)
                for (int j = i + 1; j < images; j++) {
                    if (Double.isNaN(jsd[i][j])) jsd[i][j] = GaussianJsd.of(means[i], stds[i], means[j], stds[j]);
                    if (j < hi) same += jsd[i][j];
                    else different += jsd[i][j];
                }
        }
        same /= (double) samples * (samples - 1) / 2 * styles;
        different /= (double) styles * (styles - 1) / 2 * samples * samples;
        return same == 0 && different == 0 ? 1 : same / different;
    }

    /** Mean after dropping the lowest and the highest value (combine_gradings.py); the plain mean below 3 values. */
    public static double trimmedMean(double[] xs) {
        if (xs.length == 0) throw new IllegalArgumentException("trimmed mean of no values");
        double[] s = xs.clone();
        Arrays.sort(s);
        int from = s.length >= 3 ? 1 : 0, to = s.length >= 3 ? s.length - 1 : s.length;
        double sum = 0;
        for (int i = from; i < to; i++) sum += s[i];
        return sum / (to - from);
    }
}
