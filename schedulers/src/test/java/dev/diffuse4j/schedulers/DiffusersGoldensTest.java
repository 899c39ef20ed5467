package dev.diffuse4j.schedulers;

import static dev.diffuse4j.schedulers.DiffusersFixtures.meanAbs;
import static dev.diffuse4j.schedulers.DiffusersFixtures.model;
import static dev.diffuse4j.schedulers.DiffusersFixtures.noiseDeter;
import static dev.diffuse4j.schedulers.DiffusersFixtures.sampleDeter;
import static dev.diffuse4j.schedulers.DiffusersFixtures.scaled;
import static dev.diffuse4j.schedulers.DiffusersFixtures.sumAbs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The hard-coded results of diffusers' own scheduler tests (huggingface/diffusers tests/schedulers/
 * test_scheduler_ddim.py, test_scheduler_ddim_inverse.py, test_scheduler_euler.py, test_scheduler_dpm_multi.py),
 * reproduced with the same configs, inputs and loops. diffusers checks sums to 1e-2 and means to 1e-3; the
 * goldens are printed to four decimals, so a faithful port lands within their rounding, 1e-3 here.
 */
class DiffusersGoldensTest {
    private static final double SUM_TOL = 1e-3, MEAN_TOL = 1e-4;

    // ------------------------------------------------------------------ DDIM

    private static SchedulerConfig.Builder ddimConfig() {
        return SchedulerConfig.builder().numTrainTimesteps(1000).betaStart(0.0001).betaEnd(0.02)
                .betaSchedule(BetaSchedule.LINEAR).clipSample(true);
    }

    private static float[] ddimLoop(SchedulerConfig config) {
        DdimScheduler s = new DdimScheduler(config, 0f);
        s.setTimesteps(10);
        float[] x = sampleDeter();
        for (int i = 0; i < s.numSteps(); i++) x = s.step(model(x, s.timestep(i)), i, x, null);
        return x;
    }

    @Test
    void ddimFullLoop() {
        float[] x = ddimLoop(ddimConfig().build());
        assertEquals(172.0067, sumAbs(x), SUM_TOL);
        assertEquals(0.223967, meanAbs(x), MEAN_TOL);
    }

    @Test
    void ddimFullLoopVPrediction() {
        float[] x = ddimLoop(ddimConfig().predictionType(PredictionType.V_PREDICTION).build());
        assertEquals(52.5302, sumAbs(x), SUM_TOL);
        assertEquals(0.0684, meanAbs(x), MEAN_TOL);
    }

    @Test
    void ddimFullLoopSetAlphaToOne() {
        float[] x = ddimLoop(ddimConfig().setAlphaToOne(true).betaStart(0.01).build());
        assertEquals(149.8295, sumAbs(x), SUM_TOL);
        assertEquals(0.1951, meanAbs(x), MEAN_TOL);
        float[] y = ddimLoop(ddimConfig().setAlphaToOne(false).betaStart(0.01).build());
        assertEquals(149.0784, sumAbs(y), SUM_TOL);
        assertEquals(0.1941, meanAbs(y), MEAN_TOL);
    }

    @Test
    void ddimFullLoopFromNoisedSample() {
        DdimScheduler s = new DdimScheduler(ddimConfig().build());
        s.setTimesteps(10);
        int start = 8;
        float[] x = s.addNoise(sampleDeter(), noiseDeter(), start);
        for (int i = start; i < s.numSteps(); i++) x = s.step(model(x, s.timestep(i)), i, x, null);
        assertEquals(354.5418, sumAbs(x), SUM_TOL);
        assertEquals(0.4616, meanAbs(x), MEAN_TOL);
    }

    @Test
    void ddimVariance() {
        DdimScheduler s = new DdimScheduler(ddimConfig().build());
        assertEquals(0.0, s.variance(0, 0), 1e-5);
        assertEquals(0.14771, s.variance(420, 400), 1e-5);
        assertEquals(0.32460, s.variance(980, 960), 1e-5);
        assertEquals(0.00979, s.variance(487, 486), 1e-5);
        assertEquals(0.02, s.variance(999, 998), 1e-5);
    }

    @Test
    void ddimStepsOffset() {
        DdimScheduler s = new DdimScheduler(ddimConfig().stepsOffset(1).build());
        s.setTimesteps(5);
        assertArrayEquals(new int[]{801, 601, 401, 201, 1}, s.integerTimesteps());
    }

    // ------------------------------------------------------------------ DDIM inversion

    private static float[] inverseLoop(SchedulerConfig config) {
        DdimInverseScheduler s = new DdimInverseScheduler(config);
        s.setTimesteps(10);
        float[] x = sampleDeter();
        for (int i = 0; i < s.numSteps(); i++) x = s.step(model(x, s.timestep(i)), i, x, null);
        return x;
    }

    @Test
    void ddimInverseFullLoop() {
        float[] x = inverseLoop(ddimConfig().build());
        assertEquals(671.6816, sumAbs(x), SUM_TOL);
        assertEquals(0.8746, meanAbs(x), MEAN_TOL);
    }

    @Test
    void ddimInverseFullLoopVariants() {
        float[] v = inverseLoop(ddimConfig().predictionType(PredictionType.V_PREDICTION).build());
        assertEquals(1394.2185, sumAbs(v), SUM_TOL);
        assertEquals(1.8154, meanAbs(v), MEAN_TOL);
        float[] one = inverseLoop(ddimConfig().setAlphaToOne(true).betaStart(0.01).build());
        assertEquals(539.9622, sumAbs(one), SUM_TOL);
        assertEquals(0.7031, meanAbs(one), MEAN_TOL);
        float[] notOne = inverseLoop(ddimConfig().setAlphaToOne(false).betaStart(0.01).build());
        assertEquals(542.6722, sumAbs(notOne), SUM_TOL);
        assertEquals(0.7066, meanAbs(notOne), MEAN_TOL);
    }

    @Test
    void ddimInverseStepsOffset() {
        DdimInverseScheduler s = new DdimInverseScheduler(ddimConfig().stepsOffset(1).build());
        s.setTimesteps(5);
        assertArrayEquals(new int[]{1, 201, 401, 601, 801}, s.integerTimesteps());
    }

    // ------------------------------------------------------------------ Euler

    private static SchedulerConfig.Builder eulerConfig() {
        return SchedulerConfig.builder().numTrainTimesteps(1100).betaStart(0.0001).betaEnd(0.02).betaSchedule(BetaSchedule.LINEAR);
    }

    /** diffusers' Euler loop overwrites the sample with scale_model_input's result before stepping. */
    private static float[] eulerLoop(EulerDiscreteScheduler s, int from, float[] x) {
        for (int i = from; i < s.numSteps(); i++) {
            x = s.scaleModelInput(x, i);
            x = s.step(model(x, s.timestep(i)), i, x, null);
        }
        return x;
    }

    private static float[] eulerLoop(SchedulerConfig config) {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(config);
        s.setTimesteps(10);
        return eulerLoop(s, 0, scaled(sampleDeter(), s.initNoiseSigma()));
    }

    @Test
    void eulerFullLoop() {
        float[] x = eulerLoop(eulerConfig().build());
        assertEquals(10.0807, sumAbs(x), SUM_TOL);
        assertEquals(0.0131, meanAbs(x), MEAN_TOL);
    }

    @Test
    void eulerFullLoopVPrediction() {
        // The loop cancels to rounding noise: the goldens (sum 0.0002, mean 2.2676e-6 - inconsistent with each
        // other, 768 * 2.2676e-6 = 0.0017) record one machine's noise, and diffusers only checks them to 1e-2 / 1e-3.
        // A float32 NumPy transcription of the current diffusers code gives mean 3.15e-13, as this port does.
        float[] x = eulerLoop(eulerConfig().predictionType(PredictionType.V_PREDICTION).build());
        assertEquals(0.0002, sumAbs(x), 1e-2);
        assertEquals(2.2676e-06, meanAbs(x), 1e-3);
        assertTrue(meanAbs(x) < 1e-9, "the v-prediction loop drives the dummy sample to ~0: " + meanAbs(x));
    }

    @Test
    void eulerFullLoopKarras() {
        float[] x = eulerLoop(eulerConfig().useKarrasSigmas(true).build());
        assertEquals(124.52299499511719, sumAbs(x), SUM_TOL);
        assertEquals(0.16213932633399963, meanAbs(x), MEAN_TOL);
    }

    @Test
    void eulerFullLoopFromNoisedSample() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(eulerConfig().build());
        s.setTimesteps(10);
        int start = 8;
        float[] x = s.addNoise(scaled(sampleDeter(), s.initNoiseSigma()), noiseDeter(), start);
        x = eulerLoop(s, start, x);
        assertEquals(57062.9297, sumAbs(x), 1e-2);
        assertEquals(74.3007, meanAbs(x), MEAN_TOL);
    }

    // ------------------------------------------------------------------ DPM-Solver++ 2M

    private static SchedulerConfig.Builder dpmConfig() {
        return SchedulerConfig.builder().numTrainTimesteps(1000).betaStart(0.0001).betaEnd(0.02).betaSchedule(BetaSchedule.LINEAR)
                .solverOrder(2).lowerOrderFinal(false).eulerAtFinal(false).finalSigmasType(FinalSigmas.SIGMA_MIN);
    }

    private static float[] dpmLoop(SchedulerConfig config) {
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(config);
        s.setTimesteps(10);
        float[] x = sampleDeter();
        for (int i = 0; i < s.numSteps(); i++) x = s.step(model(x, s.timestep(i)), i, x, null);
        return x;
    }

    @Test
    void dpmSolverFullLoop() {
        assertEquals(0.3301, meanAbs(dpmLoop(dpmConfig().build())), MEAN_TOL);
    }

    @Test
    void dpmSolverFullLoopVPrediction() {
        assertEquals(0.2251, meanAbs(dpmLoop(dpmConfig().predictionType(PredictionType.V_PREDICTION).build())), MEAN_TOL);
    }

    @Test
    void dpmSolverFullLoopKarrasVPrediction() {
        // Golden 0.2096 predates the current Karras code path; a float32 NumPy transcription of the current
        // diffusers set_timesteps/step gives 0.209198, as this port does. Checked at diffusers' own tolerance.
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(
                dpmConfig().predictionType(PredictionType.V_PREDICTION).useKarrasSigmas(true).build());
        s.setTimesteps(10);
        float[] x = sampleDeter();
        for (int i = 0; i < s.numSteps(); i++) x = s.step(model(x, s.timestep(i)), i, x, null);
        assertEquals(0.2096, meanAbs(x), 1e-3);
    }

    @Test
    void dpmSolverFullLoopFromNoisedSample() {
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(dpmConfig().build());
        s.setTimesteps(10);
        int start = 5;
        float[] x = s.addNoise(sampleDeter(), noiseDeter(), start);
        for (int i = start; i < s.numSteps(); i++) x = s.step(model(x, s.timestep(i)), i, x, null);
        assertEquals(318.4111, sumAbs(x), SUM_TOL);
        assertEquals(0.4146, meanAbs(x), MEAN_TOL);
    }
}
