package dev.diffuse4j.attention.guidance;

/**
 * The A&E family's token re-normalisation of a cross-attention map: drop the start token (column 0)
 * and every column from {@code end} on (SD1.x: the last of the 77 columns), multiply by a
 * temperature factor (100) and softmax per pixel over the remaining tokens. Subject tokens then
 * compete for each pixel. Column j of the result is text token j + 1.
 */
public final class TokenSoftmax {
    public static final double DEFAULT_SCALE = 100;

    private TokenSoftmax() {}

    /**
     * @param cross [pixels, tokens] head/layer-averaged attention probabilities
     * @param end   first dropped column after the kept ones (tokens - 1 for SD1.x)
     * @return [pixels, end - 1] probabilities over text tokens 1 .. end-1
     */
    public static double[] forward(double[] cross, int pixels, int tokens, int end, double scale) {
        check(cross, pixels, tokens, end);
        int kept = end - 1;
        double[] out = new double[pixels * kept];
        for (int p = 0; p < pixels; p++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < kept; j++) max = Math.max(max, scale * cross[p * tokens + j + 1]);
            double sum = 0;
            for (int j = 0; j < kept; j++) sum += out[p * kept + j] = Math.exp(scale * cross[p * tokens + j + 1] - max);
            for (int j = 0; j < kept; j++) out[p * kept + j] /= sum;
        }
        return out;
    }

    /** dL/d(cross) [pixels, tokens] given the forward result and dL/d(result); dropped columns get 0. */
    public static double[] backward(double[] probs, double[] grad, int pixels, int tokens, int end, double scale) {
        int kept = end - 1;
        if (probs.length != pixels * kept || grad.length != probs.length)
            throw new IllegalArgumentException("token softmax backward: expected " + pixels + "x" + kept + " values");
        double[] out = new double[pixels * tokens];
        for (int p = 0; p < pixels; p++) {
            double dot = 0;
            for (int j = 0; j < kept; j++) dot += probs[p * kept + j] * grad[p * kept + j];
            for (int j = 0; j < kept; j++)
                out[p * tokens + j + 1] = scale * probs[p * kept + j] * (grad[p * kept + j] - dot);
        }
        return out;
    }

    private static void check(double[] cross, int pixels, int tokens, int end) {
        if (cross.length != pixels * tokens)
            throw new IllegalArgumentException("token softmax: map of " + cross.length + " values is not " + pixels + " pixels x " + tokens + " tokens");
        if (end < 2 || end > tokens) throw new IllegalArgumentException("token softmax: end column " + end + " outside 2.." + tokens);
    }
}
