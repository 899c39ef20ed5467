package dev.diffuse4j.schedulers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SchedulerConfigTest {
    // runwayml/stable-diffusion-v1-5 scheduler/scheduler_config.json
    static final String SD15 = """
            {
              "_class_name": "PNDMScheduler",
              "_diffusers_version": "0.6.0",
              "beta_end": 0.012,
              "beta_schedule": "scaled_linear",
              "beta_start": 0.00085,
              "num_train_timesteps": 1000,
              "set_alpha_to_one": false,
              "skip_prk_steps": true,
              "steps_offset": 1,
              "trained_betas": null,
              "clip_sample": false
            }""";

    // stabilityai/stable-diffusion-xl-base-1.0 scheduler/scheduler_config.json
    static final String SDXL = """
            {
              "_class_name": "EulerDiscreteScheduler",
              "_diffusers_version": "0.19.0.dev0",
              "beta_end": 0.012,
              "beta_schedule": "scaled_linear",
              "beta_start": 0.00085,
              "clip_sample": false,
              "interpolation_type": "linear",
              "num_train_timesteps": 1000,
              "prediction_type": "epsilon",
              "sample_max_value": 1.0,
              "set_alpha_to_one": false,
              "skip_prk_steps": true,
              "steps_offset": 1,
              "timestep_spacing": "leading",
              "trained_betas": null,
              "use_karras_sigmas": false
            }""";

    @Test
    void readsStableDiffusion15File(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("scheduler_config.json");
        Files.writeString(f, SD15);
        SchedulerConfig c = SchedulerConfig.read(f);
        assertEquals("PNDMScheduler", c.className());
        assertEquals(BetaSchedule.SCALED_LINEAR, c.betaSchedule());
        assertEquals(0.00085, c.betaStart());
        assertEquals(0.012, c.betaEnd());
        assertEquals(1, c.stepsOffset());
        assertEquals(PredictionType.EPSILON, c.predictionType());
        assertFalse(c.setAlphaToOneOrDefault());
        assertFalse(c.clipSampleOrDefault());
        assertNull(c.timestepSpacing(), "the SD 1.5 file has no timestep_spacing");
        assertNull(c.trainedBetas());
        assertEquals(SchedulerConfig.stableDiffusion15(), c, "the preset is this file");
    }

    @Test
    void missingSpacingResolvesToEachClassDefault() {
        SchedulerConfig c = SchedulerConfig.parse(SD15, "sd15");
        assertEquals(TimestepSpacing.LEADING, new DdimScheduler(c).spacing());
        assertEquals(TimestepSpacing.LEADING, new DdimInverseScheduler(c).spacing());
        assertEquals(TimestepSpacing.LINSPACE, new EulerDiscreteScheduler(c).spacing());
        assertEquals(TimestepSpacing.LINSPACE, new DpmSolverMultistepScheduler(c).spacing());
        SchedulerConfig xl = SchedulerConfig.parse(SDXL, "sdxl");
        assertEquals(TimestepSpacing.LEADING, new EulerDiscreteScheduler(xl).spacing());
        assertEquals(SchedulerConfig.stableDiffusionXl().timestepSpacing(), xl.timestepSpacing());
    }

    @Test
    void ddimDefaultsApplyWhenKeysAreAbsent() {
        SchedulerConfig c = SchedulerConfig.parse("{}", "empty");
        assertTrue(c.setAlphaToOneOrDefault());
        assertTrue(c.clipSampleOrDefault());
        assertEquals(1000, c.numTrainTimesteps());
        assertEquals(BetaSchedule.LINEAR, c.betaSchedule());
        assertEquals(FinalSigmas.ZERO, c.finalSigmasType());
        assertTrue(c.lowerOrderFinal());
        assertEquals(Double.NEGATIVE_INFINITY, c.lambdaMinClipped());
    }

    @Test
    void readsDpmSolverKeys() {
        SchedulerConfig c = SchedulerConfig.parse("""
                {"_class_name": "DPMSolverMultistepScheduler", "algorithm_type": "dpmsolver++", "solver_order": 2,
                 "solver_type": "midpoint", "lower_order_final": true, "use_karras_sigmas": true, "final_sigmas_type": "sigma_min",
                 "lambda_min_clipped": -5.1, "prediction_type": "v_prediction", "timestep_spacing": "trailing", "variance_type": null}
                """, "dpm");
        assertTrue(c.useKarrasSigmas());
        assertEquals(FinalSigmas.SIGMA_MIN, c.finalSigmasType());
        assertEquals(-5.1, c.lambdaMinClipped());
        assertEquals(PredictionType.V_PREDICTION, c.predictionType());
        assertEquals(TimestepSpacing.TRAILING, c.timestepSpacing());
    }

    @Test
    void equalityComparesTrainedBetasByContent() {
        double[] b = new double[1000];
        java.util.Arrays.fill(b, 0.01);
        SchedulerConfig x = SchedulerConfig.builder().trainedBetas(b).build(), y = SchedulerConfig.builder().trainedBetas(b.clone()).build();
        assertEquals(x, y);
        assertEquals(x.hashCode(), y.hashCode());
        b[3] = 0.02;
        assertFalse(x.equals(SchedulerConfig.builder().trainedBetas(b).build()));
    }

    @Test
    void refusesWhatIsNotImplementedNamingTheKey() {
        assertMessage("thresholding", """
                {"thresholding": true}""");
        assertMessage("rescale_betas_zero_snr", """
                {"rescale_betas_zero_snr": true}""");
        assertMessage("algorithm_type", """
                {"algorithm_type": "sde-dpmsolver++"}""");
        assertMessage("solver_order", """
                {"solver_order": 3}""");
        assertMessage("interpolation_type", """
                {"interpolation_type": "log_linear"}""");
        assertMessage("beta_schedule", """
                {"beta_schedule": "sigmoid"}""");
        assertMessage("timestep_spacing", """
                {"timestep_spacing": "uniform"}""");
        assertMessage("num_train_timesteps", """
                {"num_train_timesteps": "1000"}""");
        assertMessage("trained_betas", """
                {"num_train_timesteps": 3, "trained_betas": [0.1, 0.2]}""");
        assertMessage("not valid JSON", "{");
    }

    private static void assertMessage(String expected, String json) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SchedulerConfig.parse(json, "cfg.json"));
        assertTrue(e.getMessage().contains(expected) && e.getMessage().contains("cfg.json"), e.getMessage());
    }
}
