package dev.diffuse4j.schedulers;

/**
 * The training noise schedule in float32, computed the way PyTorch computes it so that tables and
 * step coefficients match diffusers bit for bit:
 * <ul>
 *   <li>{@code torch.linspace} (float32, CPU): {@code step = (end - start) / (T - 1)} in float; the first half is
 *       {@code start + step * i}, the second half {@code end - step * (T - 1 - i)} (filled from both ends, so both
 *       endpoints are exact). Each is one fused multiply-add, as GCC compiles that kernel for the FMA-capable
 *       CPU dispatch targets (x86 AVX2/AVX-512, aarch64).</li>
 *   <li>{@code alphas = 1 - betas} in float32.</li>
 *   <li>{@code torch.cumprod} (CPU): the running product is kept in double ({@code acc_type<float>}) and each
 *       prefix is rounded to float32 - not a float32 running product.</li>
 * </ul>
 * For SD's scaled_linear schedule this gives abar[0, 259, 499, 759, 999] = 0.9991499781608582,
 * 0.6589752435684204, 0.27766942977905273, 0.05221289023756981, 0.00466009508818388, the values public
 * SD-Turbo / LCM ports hard-code.
 */
public final class TrainingSchedule {
    private final float[] betas;
    private final float[] alphas;
    private final float[] alphasCumprod;

    private TrainingSchedule(float[] betas) {
        this.betas = betas;
        this.alphas = new float[betas.length];
        this.alphasCumprod = new float[betas.length];
        double running = 1.0;
        for (int i = 0; i < betas.length; i++) {
            alphas[i] = 1f - betas[i];
            running *= alphas[i];
            alphasCumprod[i] = (float) running;
        }
    }

    /** The schedule a config describes. */
    public static TrainingSchedule of(SchedulerConfig config) {
        int n = config.numTrainTimesteps();
        double[] trained = config.trainedBetas();
        if (trained != null) {
            float[] b = new float[n];
            for (int i = 0; i < n; i++) b[i] = (float) trained[i];
            return new TrainingSchedule(b);
        }
        return switch (config.betaSchedule()) {
            case LINEAR -> new TrainingSchedule(linspaceF32(config.betaStart(), config.betaEnd(), n));
            case SCALED_LINEAR -> {
                float[] b = linspaceF32(Math.sqrt(config.betaStart()), Math.sqrt(config.betaEnd()), n);
                for (int i = 0; i < n; i++) b[i] = b[i] * b[i];
                yield new TrainingSchedule(b);
            }
            case SQUAREDCOS_CAP_V2 -> new TrainingSchedule(cosineBetas(n));
        };
    }

    public int size() { return betas.length; }

    public float[] betas() { return betas.clone(); }

    public float[] alphas() { return alphas.clone(); }

    public float[] alphasCumprod() { return alphasCumprod.clone(); }

    /** abar_t, the signal fraction at training timestep t. */
    public float alphaCumprod(int t) {
        if (t < 0 || t >= alphasCumprod.length)
            throw new IndexOutOfBoundsException("timestep " + t + " is outside the training range [0, " + alphasCumprod.length + ")");
        return alphasCumprod[t];
    }

    /** sigma_t = sqrt((1 - abar_t) / abar_t) for every training timestep, in float32 as torch computes it. */
    public float[] sigmas() {
        float[] s = new float[alphasCumprod.length];
        for (int i = 0; i < s.length; i++) s[i] = (float) Math.sqrt((1f - alphasCumprod[i]) / alphasCumprod[i]);
        return s;
    }

    /** {@code torch.linspace(start, end, steps, dtype=float32)} on the CPU. */
    static float[] linspaceF32(double start, double end, int steps) {
        float s = (float) start, e = (float) end;
        float[] out = new float[steps];
        if (steps == 1) {
            out[0] = s;
            return out;
        }
        float step = (e - s) / (float) (steps - 1);
        int halfway = steps / 2;
        for (int i = 0; i < steps; i++)
            out[i] = i < halfway ? Math.fma(step, (float) i, s) : Math.fma(-step, (float) (steps - 1 - i), e);
        return out;
    }

    /** Glide's cosine schedule, computed in double as diffusers does, then stored as float32. */
    private static float[] cosineBetas(int n) {
        float[] b = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n, t2 = (double) (i + 1) / n;
            b[i] = (float) Math.min(1 - alphaBar(t2) / alphaBar(t1), 0.999);
        }
        return b;
    }

    private static double alphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }
}
