package dev.diffuse4j.schedulers;

/**
 * Sigma-space schedules for the Euler and DPM-Solver++ samplers, built as diffusers builds them: the
 * float32 training sigmas, linearly interpolated in float64 at the inference timesteps, optionally
 * respaced after Karras et al. (2022), with a final sigma appended and the whole table stored in float32.
 */
final class SigmaTables {
    private static final double RHO = 7.0;

    private SigmaTables() {}

    /** {@code np.interp(timesteps, arange(T), sigmas)}: the training sigmas at (possibly fractional) timesteps. */
    static double[] interpolate(float[] trainSigmas, double[] timesteps) {
        double[] xp = new double[trainSigmas.length], fp = new double[trainSigmas.length];
        for (int i = 0; i < xp.length; i++) {
            xp[i] = i;
            fp[i] = trainSigmas[i];
        }
        double[] out = new double[timesteps.length];
        for (int i = 0; i < out.length; i++) out[i] = Numpy.interp(timesteps[i], xp, fp);
        return out;
    }

    /**
     * Karras sigmas: {@code (max^(1/rho) + ramp * (min^(1/rho) - max^(1/rho)))^rho} over {@code ramp = linspace(0, 1, n)},
     * rho = 7, descending from sigmaMax to sigmaMin.
     */
    static double[] karras(double sigmaMin, double sigmaMax, int n) {
        double[] ramp = Numpy.linspace(0, 1, n);
        double minInvRho = Math.pow(sigmaMin, 1 / RHO), maxInvRho = Math.pow(sigmaMax, 1 / RHO);
        double[] s = new double[n];
        for (int i = 0; i < n; i++) s[i] = Math.pow(maxInvRho + ramp[i] * (minInvRho - maxInvRho), RHO);
        return s;
    }

    /** {@code np.log} of the float32 training sigmas (float32 results). */
    static float[] logSigmas(float[] trainSigmas) {
        float[] l = new float[trainSigmas.length];
        for (int i = 0; i < l.length; i++) l[i] = (float) Math.log(trainSigmas[i]);
        return l;
    }

    /**
     * diffusers' {@code _sigma_to_t}: the fractional training timestep whose sigma is {@code sigma}, by linear
     * interpolation in log-sigma between the bracketing training timesteps (clamped to the table).
     */
    static double sigmaToT(double sigma, float[] logSigmas) {
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        // index of the first maximum of cumsum(dists >= 0), i.e. the last training timestep at or below logSigma
        int count = 0, best = 0, bestIndex = 0;
        for (int i = 0; i < logSigmas.length; i++) {
            if (logSigma - logSigmas[i] >= 0) count++;
            if (count > best) {
                best = count;
                bestIndex = i;
            }
        }
        int low = Math.min(bestIndex, logSigmas.length - 2), high = low + 1;
        float lowLog = logSigmas[low], highLog = logSigmas[high];
        double w = (lowLog - logSigma) / (double) (lowLog - highLog); // the denominator is a float32 difference
        w = Math.clamp(w, 0.0, 1.0);
        return (1 - w) * low + w * high;
    }

    /** Appends the final sigma and rounds the table to float32. */
    static float[] withFinal(double[] sigmas, double last) {
        float[] out = new float[sigmas.length + 1];
        for (int i = 0; i < sigmas.length; i++) out[i] = (float) sigmas[i];
        out[sigmas.length] = (float) last;
        return out;
    }

    /** The last sigma for a {@link FinalSigmas} choice: 0, or the training sigma at t = 0. */
    static double finalSigma(FinalSigmas type, float[] trainSigmas) {
        return type == FinalSigmas.ZERO ? 0.0 : trainSigmas[0];
    }
}
