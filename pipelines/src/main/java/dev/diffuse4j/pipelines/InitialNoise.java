package dev.diffuse4j.pipelines;

import dev.diffuse4j.attention.guidance.Evaluation;

import java.util.function.Function;

/**
 * INITNO's initial-noise optimisation of one latent: {@code z = z0 * exp(logvar / 2) + mu} with
 * (mu, logvar) from 0, Adam (lr 1e-2, eps 1e-3) on the objective of a cond-only pass at the first
 * timestep; after each step the KL term {@code mean(-0.5 (1 + logvar - mu^2 - exp(logvar)))} is
 * stepped down (same optimiser) until it is at most 0.001, keeping z close to a standard normal draw.
 * Stops early when the response loss is below 0.2 and the self-cross loss below 0.3.
 */
final class InitialNoise {
    static final double LR = 1e-2, EPS = 1e-3, KL_LIMIT = 1e-3, TAU_RESPONSE = 0.2, TAU_SELF = 0.3;
    /** A guard the authors do not have: the KL loop converges in a handful of steps in practice. */
    static final int MAX_KL_STEPS = 10_000;

    /** The optimised latent, whether the thresholds were reached, and the last response + self-cross loss. */
    record Outcome(float[] latents, boolean success, double score) {}

    /** One probe of the objective: its evaluation and a way to get dLoss/dz for it. */
    interface Probe extends AutoCloseable {
        Evaluation evaluation();

        float[] gradient();

        @Override
        void close();
    }

    private InitialNoise() {}

    /**
     * @param probe      runs the guided forward pass at a latent
     * @param onEvaluate called with each evaluation and its iteration
     */
    static Outcome optimise(float[] z0, int maxSteps, Function<float[], Probe> probe, java.util.function.ObjIntConsumer<Evaluation> onEvaluate) {
        int n = z0.length;
        double[] params = new double[2 * n]; // mu then logvar
        Adam adam = new Adam(2 * n, LR, EPS);
        boolean success = false;
        double score = Double.NaN;
        for (int it = 0; it < maxSteps; it++) {
            float[] z = latent(z0, params);
            double[] grad = new double[2 * n];
            try (Probe p = probe.apply(z)) {
                Evaluation e = p.evaluation();
                onEvaluate.accept(e, it);
                score = e.response() + e.selfCross();
                if (e.response() < TAU_RESPONSE && e.selfCross() < TAU_SELF) {
                    success = true;
                    break;
                }
                float[] dz = p.gradient();
                for (int i = 0; i < n; i++) {
                    grad[i] = dz[i];
                    grad[n + i] = dz[i] * z0[i] * 0.5 * Math.exp(0.5 * params[n + i]);
                }
            }
            adam.step(params, grad);
            for (int k = 0; k < MAX_KL_STEPS && kl(params, n) > KL_LIMIT; k++) adam.step(params, klGradient(params, n));
        }
        return new Outcome(latent(z0, params), success, score);
    }

    static float[] latent(float[] z0, double[] params) {
        int n = z0.length;
        float[] z = new float[n];
        for (int i = 0; i < n; i++) z[i] = (float) (z0[i] * Math.exp(0.5 * params[n + i]) + params[i]);
        return z;
    }

    static double kl(double[] params, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            double mu = params[i], lv = params[n + i];
            s += -0.5 * (1 + lv - mu * mu - Math.exp(lv));
        }
        return s / n;
    }

    static double[] klGradient(double[] params, int n) {
        double[] g = new double[2 * n];
        for (int i = 0; i < n; i++) {
            g[i] = params[i] / n;
            g[n + i] = -0.5 * (1 - Math.exp(params[n + i])) / n;
        }
        return g;
    }
}
