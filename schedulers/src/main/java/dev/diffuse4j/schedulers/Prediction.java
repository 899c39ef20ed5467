package dev.diffuse4j.schedulers;

/**
 * The (x0, eps) pair a model output implies at noise level abar, for the DDIM family, in diffusers'
 * float32 evaluation order, with the optional clamp of x0.
 */
final class Prediction {
    final float[] x0;
    final float[] eps;

    private Prediction(float[] x0, float[] eps) {
        this.x0 = x0;
        this.eps = eps;
    }

    static Prediction of(SchedulerConfig config, float[] out, float[] x, float abar) {
        int n = x.length;
        float sa = (float) Math.sqrt(abar), sb = (float) Math.sqrt(1f - abar);
        float[] x0 = new float[n], eps;
        switch (config.predictionType()) {
            case EPSILON -> {
                for (int i = 0; i < n; i++) x0[i] = (x[i] - sb * out[i]) / sa;
                eps = out;
            }
            case SAMPLE -> {
                System.arraycopy(out, 0, x0, 0, n);
                eps = new float[n];
                for (int i = 0; i < n; i++) eps[i] = (x[i] - sa * x0[i]) / sb;
            }
            case V_PREDICTION -> {
                eps = new float[n];
                for (int i = 0; i < n; i++) {
                    x0[i] = sa * x[i] - sb * out[i];
                    eps[i] = sa * out[i] + sb * x[i];
                }
            }
            default -> throw new AssertionError(config.predictionType());
        }
        if (config.clipSampleOrDefault()) {
            float r = (float) config.clipSampleRange();
            for (int i = 0; i < n; i++) x0[i] = Math.clamp(x0[i], -r, r);
        }
        return new Prediction(x0, eps);
    }

    /** {@code sqrt(abar) x0 + sqrt(1 - abar) noise}. */
    static float[] addNoise(float[] x0, float[] noise, float abar) {
        float sa = (float) Math.sqrt(abar), sb = (float) Math.sqrt(1f - abar);
        float[] out = new float[x0.length];
        for (int i = 0; i < out.length; i++) out[i] = sa * x0[i] + sb * noise[i];
        return out;
    }
}
