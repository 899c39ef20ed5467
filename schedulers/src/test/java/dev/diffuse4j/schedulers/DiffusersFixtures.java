package dev.diffuse4j.schedulers;

/**
 * The deterministic inputs of diffusers' scheduler tests ({@code tests/schedulers/test_schedulers.py}):
 * a 4x3x8x8 sample made from arange(384) laid out as (C, H, W, B) and permuted to (B, C, H, W), and the
 * dummy model {@code eps(x, t) = x * t / (t + 1)}.
 */
final class DiffusersFixtures {
    static final int B = 4, C = 3, H = 8, W = 8, N = B * C * H * W;

    private DiffusersFixtures() {}

    /** {@code dummy_sample_deter}: element (b, c, h, w) = index of (c, h, w, b) in C-order / 384, float32. */
    static float[] sampleDeter() {
        return deter(false);
    }

    /** {@code dummy_noise_deter}: the same with arange flipped (383 - index). */
    static float[] noiseDeter() {
        return deter(true);
    }

    private static float[] deter(boolean flipped) {
        float[] x = new float[N];
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++)
                for (int h = 0; h < H; h++)
                    for (int w = 0; w < W; w++) {
                        int source = ((c * H + h) * W + w) * B + b;
                        int value = flipped ? N - 1 - source : source;
                        x[((b * C + c) * H + h) * W + w] = (float) value / (float) N;
                    }
        return x;
    }

    /** {@code dummy_model()(sample, t)}: t cast to float32, then {@code sample * t / (t + 1)}. */
    static float[] model(float[] sample, float t) {
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) out[i] = sample[i] * t / (t + 1f);
        return out;
    }

    static float[] scaled(float[] x, float s) {
        float[] out = new float[x.length];
        for (int i = 0; i < out.length; i++) out[i] = x[i] * s;
        return out;
    }

    /** torch.sum(torch.abs(x)) (accumulated in double here; the 4-decimal goldens cannot tell). */
    static double sumAbs(float[] x) {
        double s = 0;
        for (float v : x) s += Math.abs(v);
        return s;
    }

    static double meanAbs(float[] x) {
        return sumAbs(x) / x.length;
    }
}
