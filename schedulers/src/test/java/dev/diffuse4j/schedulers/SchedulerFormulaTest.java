package dev.diffuse4j.schedulers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.diffuse4j.schedulers.noise.PhiloxGaussian;
import org.junit.jupiter.api.Test;

/** Each update against its formula evaluated in float64 from the same float32 schedule values. */
class SchedulerFormulaTest {
    private static final int N = 2000;
    private static final SchedulerConfig SD = SchedulerConfig.stableDiffusion15();

    private static float[] randn(long seed) { return PhiloxGaussian.seeded(seed).next(N); }

    private static void assertClose(double[] expected, float[] actual, double rel, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        for (int i = 0; i < expected.length; i++)
            assertEquals(expected[i], actual[i], rel * (1 + Math.abs(expected[i])), what + " element " + i);
    }

    // ------------------------------------------------------------------ DDIM

    @Test
    void ddimDeterministicStep() {
        DdimScheduler s = new DdimScheduler(SD);
        s.setTimesteps(50);
        float[] abar = s.trainingSchedule().alphasCumprod();
        float[] x = randn(1), e = randn(2);
        for (int i : new int[]{0, 1, 25, 48, 49}) {
            int t = s.integerTimesteps()[i], prev = t - 20;
            double at = abar[t], ap = prev >= 0 ? abar[prev] : abar[0]; // set_alpha_to_one false
            double[] exp = new double[N];
            for (int k = 0; k < N; k++) {
                double x0 = (x[k] - Math.sqrt(1 - at) * e[k]) / Math.sqrt(at);
                exp[k] = Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * e[k];
            }
            assertClose(exp, s.step(e, i, x, null), 1e-5, "DDIM step " + i);
        }
    }

    @Test
    void ddimStochasticStepAddsEtaScaledPosteriorNoise() {
        float eta = 0.7f;
        DdimScheduler s = new DdimScheduler(SD, eta);
        s.setTimesteps(20);
        float[] abar = s.trainingSchedule().alphasCumprod();
        float[] x = randn(3), e = randn(4), z = PhiloxGaussian.seeded(99).next(N);
        int i = 7, t = s.integerTimesteps()[i], prev = t - 50;
        double at = abar[t], ap = abar[prev];
        double var = (1 - ap) / (1 - at) * (1 - at / ap);
        assertEquals(var, s.variance(t, prev), 1e-6 * var);
        double std = eta * Math.sqrt(var);
        double[] exp = new double[N];
        for (int k = 0; k < N; k++) {
            double x0 = (x[k] - Math.sqrt(1 - at) * e[k]) / Math.sqrt(at);
            exp[k] = Math.sqrt(ap) * x0 + Math.sqrt(1 - ap - std * std) * e[k] + std * z[k];
        }
        assertClose(exp, s.step(e, i, x, PhiloxGaussian.seeded(99)), 1e-5, "DDIM eta step");
        assertThrows(IllegalArgumentException.class, () -> s.step(e, i, x, null), "eta > 0 needs noise");
    }

    @Test
    void ddimVAndSamplePredictionsAndClipping() {
        float[] x = randn(5), out = randn(6);
        for (PredictionType p : PredictionType.values())
            for (boolean clip : new boolean[]{false, true}) {
                SchedulerConfig c = SD.toBuilder().predictionType(p).clipSample(clip).clipSampleRange(0.8).build();
                DdimScheduler s = new DdimScheduler(c);
                s.setTimesteps(10);
                int i = 3, t = s.integerTimesteps()[i];
                double at = s.trainingSchedule().alphaCumprod(t), ap = s.trainingSchedule().alphaCumprod(t - 100);
                double sa = Math.sqrt(at), sb = Math.sqrt(1 - at);
                double[] x0 = new double[N], next = new double[N];
                for (int k = 0; k < N; k++) {
                    double eps = switch (p) {
                        case EPSILON -> out[k];
                        case SAMPLE -> (x[k] - sa * out[k]) / sb;
                        case V_PREDICTION -> sa * out[k] + sb * x[k];
                    };
                    double raw = switch (p) {
                        case EPSILON -> (x[k] - sb * out[k]) / sa;
                        case SAMPLE -> out[k];
                        case V_PREDICTION -> sa * x[k] - sb * out[k];
                    };
                    x0[k] = clip ? Math.max(-0.8, Math.min(0.8, raw)) : raw;
                    next[k] = Math.sqrt(ap) * x0[k] + Math.sqrt(1 - ap) * eps;
                }
                assertClose(x0, s.predictX0(out, i, x), 1e-5, p + " clip=" + clip + " x0");
                assertClose(next, s.step(out, i, x, null), 1e-5, p + " clip=" + clip + " step");
            }
    }

    @Test
    void ddimSetAlphaToOneEndsOnTheCleanSample() {
        DdimScheduler s = new DdimScheduler(SD.toBuilder().setAlphaToOne(true).build());
        s.setTimesteps(10);
        float[] x = randn(7), e = randn(8);
        // abar_prev = 1 on the last step: the result is x0 itself
        assertArrayEquals(s.predictX0(e, 9, x), s.step(e, 9, x, null));
    }

    @Test
    void ddimInverseStep() {
        DdimInverseScheduler s = new DdimInverseScheduler(SD);
        s.setTimesteps(25);
        float[] abar = s.trainingSchedule().alphasCumprod();
        float[] x = randn(9), e = randn(10);
        for (int i : new int[]{0, 1, 12, 24}) {
            int t = s.integerTimesteps()[i], src = t - 40;
            double at = abar[t], as = src >= 0 ? abar[src] : abar[0];
            double[] exp = new double[N];
            for (int k = 0; k < N; k++) exp[k] = Math.sqrt(at) * (x[k] - Math.sqrt(1 - as) * e[k]) / Math.sqrt(as) + Math.sqrt(1 - at) * e[k];
            assertClose(exp, s.step(e, i, x, null), 1e-5, "inverse step " + i);
        }
    }

    // ------------------------------------------------------------------ Euler

    private static double trainSigma(float[] abar, int t) {
        return Math.sqrt((1 - (double) abar[t]) / abar[t]);
    }

    @Test
    void eulerSigmasScalingAndStep() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(SD); // linspace: fractional timesteps
        s.setTimesteps(30);
        float[] abar = s.trainingSchedule().alphasCumprod(), ts = s.timesteps(), sig = s.sigmas();
        for (int i = 0; i < 30; i++) {
            int lo = (int) Math.floor(ts[i]);
            double f = ts[i] - lo;
            double expected = lo == 999 ? trainSigma(abar, 999) : (1 - f) * trainSigma(abar, lo) + f * trainSigma(abar, lo + 1);
            assertEquals(expected, sig[i], 2e-6 * expected, "sigma " + i);
        }
        assertEquals(0f, sig[30]);
        assertEquals(sig[0], s.initNoiseSigma(), "linspace: init sigma is the largest sigma");

        float[] x = randn(11), e = randn(12);
        for (int i : new int[]{0, 10, 29}) {
            double si = sig[i], sn = sig[i + 1];
            double[] in = new double[N], next = new double[N];
            for (int k = 0; k < N; k++) {
                in[k] = x[k] / Math.sqrt(si * si + 1);
                next[k] = x[k] + e[k] * (sn - si);
            }
            assertClose(in, s.scaleModelInput(x, i), 1e-6, "model input " + i);
            assertClose(next, s.step(e, i, x, null), 1e-5, "Euler step " + i);
        }
    }

    @Test
    void eulerLeadingInitSigma() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(SchedulerConfig.stableDiffusionXl());
        s.setTimesteps(30);
        double max = trainSigma(s.trainingSchedule().alphasCumprod(), 29 * 33 + 1);
        assertEquals(Math.sqrt(max * max + 1), s.initNoiseSigma(), 1e-5);
    }

    @Test
    void eulerKarrasSigmasAndTheirTimesteps() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(SD.toBuilder().useKarrasSigmas(true).build());
        int n = 25;
        s.setTimesteps(n);
        float[] abar = s.trainingSchedule().alphasCumprod(), sig = s.sigmas(), ts = s.timesteps();
        double max = trainSigma(abar, 999), min = trainSigma(abar, 0);
        for (int i = 0; i < n; i++) {
            double ramp = (double) i / (n - 1);
            double expected = Math.pow(Math.pow(max, 1 / 7.0) + ramp * (Math.pow(min, 1 / 7.0) - Math.pow(max, 1 / 7.0)), 7);
            assertEquals(expected, sig[i], 1e-6 * expected, "Karras sigma " + i);
            // the timestep is where log-linear interpolation of the training sigmas meets sigma_i
            int lo = Math.min((int) Math.floor(ts[i]), 998);
            double f = ts[i] - lo;
            double logSigma = (1 - f) * Math.log(trainSigma(abar, lo)) + f * Math.log(trainSigma(abar, lo + 1));
            assertEquals(Math.log(expected), logSigma, 1e-5, "timestep of sigma " + i);
        }
    }

    // ------------------------------------------------------------------ DPM-Solver++ 2M

    /** VP quantities of an Euler-style sigma. */
    private static double[] level(double sigma) {
        double alpha = 1 / Math.sqrt(sigma * sigma + 1), s = sigma * alpha;
        return new double[]{alpha, s, Math.log(alpha) - Math.log(s)};
    }

    @Test
    void dpmSolverFirstAndSecondOrderUpdates() {
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(SD.toBuilder().finalSigmasType(FinalSigmas.SIGMA_MIN).build());
        s.setTimesteps(20);
        float[] sig = s.sigmas();
        float[] x = randn(13);
        double[] m1 = null;
        for (int i = 0; i < 20; i++) {
            float[] e = randn(100 + i);
            double[] a = level(sig[i]), b = level(sig[i + 1]);
            double h = b[2] - a[2];
            double[] m0 = new double[N], exp = new double[N];
            for (int k = 0; k < N; k++) m0[k] = (x[k] - a[1] * e[k]) / a[0];
            // first order only on the first step: with 20 >= 15 steps and a sigma_min end the last step stays second order
            boolean firstOrder = i == 0;
            double r0 = firstOrder ? 0 : (a[2] - level(sig[i - 1])[2]) / h;
            for (int k = 0; k < N; k++) {
                double d = firstOrder ? m0[k] : m0[k] + (m0[k] - m1[k]) / (2 * r0);
                exp[k] = (b[1] / a[1]) * x[k] - b[0] * (Math.exp(-h) - 1) * d;
            }
            assertClose(m0, s.predictX0(e, i, x), 1e-5, "x0 " + i);
            float[] got = s.step(e, i, x, null);
            assertClose(exp, got, 2e-5, "DPM++ step " + i);
            x = got;
            m1 = m0;
        }
    }

    @Test
    void dpmSolverLastStepToSigmaZeroReturnsTheX0Estimate() {
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(SD);
        s.setTimesteps(8);
        float[] x = randn(14);
        for (int i = 0; i < 7; i++) x = s.step(randn(200 + i), i, x, null);
        float[] e = randn(300);
        float[] x0 = s.predictX0(e, 7, x);
        float[] last = s.step(e, 7, x, null);
        for (int k = 0; k < N; k++) assertEquals(x0[k], last[k], 1e-6f * (1 + Math.abs(x0[k])), "element " + k);
    }

    @Test
    void dpmSolverHeunVariant() {
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(SD.toBuilder().solverType("heun").build());
        s.setTimesteps(10);
        float[] sig = s.sigmas();
        float[] x = randn(15), e0 = randn(16), e1 = randn(17);
        float[] x1 = s.step(e0, 0, x, null);
        double[] a = level(sig[1]), b = level(sig[2]), p = level(sig[0]);
        double h = b[2] - a[2], r0 = (a[2] - p[2]) / h;
        double[] exp = new double[N];
        for (int k = 0; k < N; k++) {
            double m1 = (x[k] - p[1] * e0[k]) / p[0], m0 = (x1[k] - a[1] * e1[k]) / a[0];
            double d1 = (m0 - m1) / r0;
            exp[k] = (b[1] / a[1]) * x1[k] - b[0] * (Math.exp(-h) - 1) * m0 + b[0] * ((Math.exp(-h) - 1) / h + 1) * d1;
        }
        assertClose(exp, s.step(e1, 1, x1, null), 2e-5, "heun step");
    }

    // ------------------------------------------------------------------ consistency of addNoise and predictX0

    @Test
    void predictX0InvertsAddNoiseForEverySampler() {
        float[] x0 = randn(18), eps = randn(19);
        Scheduler[] all = {new DdimScheduler(SD), new DdimInverseScheduler(SD), new EulerDiscreteScheduler(SD), new DpmSolverMultistepScheduler(SD)};
        for (Scheduler s : all) {
            s.setTimesteps(10);
            for (int i : new int[]{0, 5, 9}) {
                float[] noisy = s.addNoise(x0, eps, i);
                double[] expected = new double[N];
                for (int k = 0; k < N; k++) expected[k] = x0[k];
                // the DDIM inverse predicts from the source level of its step; only the others invert exactly here
                if (!(s instanceof DdimInverseScheduler))
                    assertClose(expected, s.predictX0(eps, i, noisy), 2e-5, s.getClass().getSimpleName() + " step " + i);
            }
        }
    }

    @Test
    void vPredictionTargetsInvertForDdimAndDpm() {
        float[] x0 = randn(20), eps = randn(21);
        SchedulerConfig v = SD.toBuilder().predictionType(PredictionType.V_PREDICTION).build();
        DdimScheduler d = new DdimScheduler(v);
        DpmSolverMultistepScheduler p = new DpmSolverMultistepScheduler(v);
        d.setTimesteps(10);
        p.setTimesteps(10);
        for (int i : new int[]{0, 4, 9}) {
            double at = d.trainingSchedule().alphaCumprod(d.integerTimesteps()[i]);
            float[] noisy = d.addNoise(x0, eps, i), vt = new float[N];
            for (int k = 0; k < N; k++) vt[k] = (float) (Math.sqrt(at) * eps[k] - Math.sqrt(1 - at) * x0[k]);
            double[] expected = new double[N];
            for (int k = 0; k < N; k++) expected[k] = x0[k];
            assertClose(expected, d.predictX0(vt, i, noisy), 2e-5, "DDIM v " + i);
            double[] l = level(p.sigmas()[i]);
            float[] pn = p.addNoise(x0, eps, i), pv = new float[N];
            for (int k = 0; k < N; k++) pv[k] = (float) (l[0] * eps[k] - l[1] * x0[k]);
            assertClose(expected, p.predictX0(pv, i, pn), 2e-5, "DPM v " + i);
        }
    }
}
