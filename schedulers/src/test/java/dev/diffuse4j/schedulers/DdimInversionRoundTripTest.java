package dev.diffuse4j.schedulers;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.diffuse4j.schedulers.noise.PhiloxGaussian;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * DDIM inversion followed by DDIM sampling at the same step count returns to the starting latent.
 *
 * <p>Inversion evaluates the model at the target timestep on the less noisy latent, so it is exact only
 * when the model output does not change between neighbouring timesteps. Two linear toy models:
 * <ul>
 *   <li>a constant eps: inversion and sampling are exact inverses; only float32 rounding remains;</li>
 *   <li>the exact noise predictor of Gaussian data x0 ~ N(mu, s^2) per element,
 *       {@code eps(x, t) = sqrt(1 - abar) (x - sqrt(abar) mu) / (abar s^2 + 1 - abar)} - linear in x, it changes
 *       with t, so the round trip has an O(1/N) error that must shrink as the step count grows.</li>
 * </ul>
 * Stated bound for the second model (latents of unit scale, fixed seeds): max |error| &lt;= 8 / N. Measured:
 * 0.627 at N = 10, 0.142 at N = 50, 0.0298 at N = 250 - first-order convergence, as expected of an
 * inversion that lags the model by one step.
 * SD 1.5's config (scaled_linear, leading, steps_offset 1, set_alpha_to_one false, no clipping).
 */
class DdimInversionRoundTripTest {
    private static final int SIZE = 4 * 64 * 64;
    private static final SchedulerConfig SD = SchedulerConfig.stableDiffusion15();

    private static double maxRoundTripError(int steps, BiFunction<float[], Integer, float[]> model, float[] start) {
        DdimInverseScheduler inverse = new DdimInverseScheduler(SD);
        DdimScheduler ddim = new DdimScheduler(SD);
        inverse.setTimesteps(steps);
        ddim.setTimesteps(steps);
        float[] x = start;
        for (int i = 0; i < steps; i++) x = inverse.step(model.apply(x, (int) inverse.timestep(i)), i, x, null);
        for (int i = 0; i < steps; i++) x = ddim.step(model.apply(x, (int) ddim.timestep(i)), i, x, null);
        double err = 0;
        for (int k = 0; k < SIZE; k++) err = Math.max(err, Math.abs(x[k] - start[k]));
        return err;
    }

    @Test
    void constantNoisePredictionRoundTripsToFloatPrecision() {
        float[] eps = PhiloxGaussian.seeded(1).next(SIZE);
        float[] start = PhiloxGaussian.seeded(2).next(SIZE);
        for (int steps : new int[]{10, 50}) {
            double err = maxRoundTripError(steps, (x, t) -> eps, start);
            // 2 * steps float32 updates of O(1) values with coefficients up to 1/sqrt(abar_981) ~ 15
            assertTrue(err < 2e-5, steps + " steps: round-trip error " + err);
        }
    }

    @Test
    void gaussianDataPredictorRoundTripErrorIsBoundedAndShrinks() {
        float[] mu = PhiloxGaussian.seeded(3).next(SIZE);
        float[] g = PhiloxGaussian.seeded(4).next(SIZE);
        float s = 0.5f;
        float[] start = new float[SIZE];
        for (int k = 0; k < SIZE; k++) start[k] = mu[k] + s * g[k];
        float[] abar = TrainingSchedule.of(SD).alphasCumprod();
        BiFunction<float[], Integer, float[]> model = (x, t) -> {
            double a = abar[t];
            double c = Math.sqrt(1 - a) / (a * s * s + 1 - a), m = Math.sqrt(a);
            float[] out = new float[SIZE];
            for (int k = 0; k < SIZE; k++) out[k] = (float) (c * (x[k] - m * mu[k]));
            return out;
        };
        double e10 = maxRoundTripError(10, model, start);
        double e50 = maxRoundTripError(50, model, start);
        double e250 = maxRoundTripError(250, model, start);
        assertTrue(e10 <= 8.0 / 10, "10 steps: " + e10);
        assertTrue(e50 <= 8.0 / 50, "50 steps: " + e50);
        assertTrue(e250 <= 8.0 / 250, "250 steps: " + e250);
        // first order: five times the steps should cut the error about five-fold; require at least three-fold
        assertTrue(e50 < e10 / 3 && e250 < e50 / 3, "the error must shrink with more steps: " + e10 + ", " + e50 + ", " + e250);
    }
}
