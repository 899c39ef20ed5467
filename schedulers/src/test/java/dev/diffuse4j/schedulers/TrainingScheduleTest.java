package dev.diffuse4j.schedulers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.MathContext;
import org.junit.jupiter.api.Test;

class TrainingScheduleTest {

    @Test
    void stableDiffusionAlphasCumprodMatchPublishedFloat32Values() {
        // abar for SD's scaled_linear schedule as torch computes it, hard-coded in public SD-Turbo / LCM ports
        // (the 4-step LCM timesteps 999, 759, 499, 259, and t = 0): 0.00466009508818388 etc. A float32 running
        // product instead of torch's double accumulator gives 0.004660091362893581 at t = 999.
        TrainingSchedule s = TrainingSchedule.of(SchedulerConfig.stableDiffusion15());
        assertEquals((float) 0.9991499781608582, s.alphaCumprod(0));
        assertEquals((float) 0.6589752435684204, s.alphaCumprod(259));
        assertEquals((float) 0.27766942977905273, s.alphaCumprod(499));
        assertEquals((float) 0.05221289023756981, s.alphaCumprod(759));
        assertEquals((float) 0.00466009508818388, s.alphaCumprod(999));
    }

    @Test
    void linspaceIsFilledFromBothEndsAndAccurate() {
        for (int n : new int[]{2, 3, 10, 999, 1000, 1100}) {
            float start = 0.0001f, end = 0.02f;
            float[] b = TrainingSchedule.linspaceF32(0.0001, 0.02, n);
            assertEquals(start, b[0]);
            assertEquals(end, b[n - 1], "the far end is exact because the second half counts down from it");
            for (int i = 0; i < n; i++) {
                // exact value of the float32 endpoints' linspace
                BigDecimal exact = new BigDecimal(start).add(new BigDecimal(end).subtract(new BigDecimal(start))
                        .multiply(BigDecimal.valueOf(i)).divide(BigDecimal.valueOf(n - 1), MathContext.DECIMAL128));
                assertEquals(exact.doubleValue(), b[i], 2 * Math.ulp(b[i]), "n=" + n + " i=" + i);
            }
        }
    }

    @Test
    void schedulesMatchTheirFloat64ClosedForms() {
        for (SchedulerConfig c : new SchedulerConfig[]{SchedulerConfig.defaults(), SchedulerConfig.stableDiffusion15(),
                SchedulerConfig.builder().betaSchedule(BetaSchedule.SQUAREDCOS_CAP_V2).build()}) {
            TrainingSchedule s = TrainingSchedule.of(c);
            float[] betas = s.betas(), abar = s.alphasCumprod(), sig = s.sigmas();
            double prod = 1;
            for (int i = 0; i < 1000; i++) {
                double beta = switch (c.betaSchedule()) {
                    case LINEAR -> c.betaStart() + (c.betaEnd() - c.betaStart()) * i / 999;
                    case SCALED_LINEAR -> Math.pow(Math.sqrt(c.betaStart()) + (Math.sqrt(c.betaEnd()) - Math.sqrt(c.betaStart())) * i / 999, 2);
                    case SQUAREDCOS_CAP_V2 -> Math.min(1 - cosBar((i + 1) / 1000.0) / cosBar(i / 1000.0), 0.999);
                };
                prod *= 1 - beta;
                assertEquals(beta, betas[i], 1e-6 * beta, c.betaSchedule() + " beta " + i);
                assertEquals(prod, abar[i], 2e-5 * prod, c.betaSchedule() + " abar " + i);
                // 1 - abar in float32 cancels near t = 0: allow half an ulp of 1 relative to 1 - abar
                double sigmaTol = sig[i] * (2e-5 + 0x1p-24 / (1 - prod));
                assertEquals(Math.sqrt((1 - prod) / prod), sig[i], sigmaTol, c.betaSchedule() + " sigma " + i);
            }
        }
    }

    @Test
    void trainedBetasOverrideTheSchedule() {
        double[] b = new double[1000];
        for (int i = 0; i < b.length; i++) b[i] = 0.001 + i * 1e-5;
        TrainingSchedule s = TrainingSchedule.of(SchedulerConfig.builder().trainedBetas(b).build());
        assertEquals((float) b[500], s.betas()[500]);
        assertTrue(s.alphaCumprod(999) < s.alphaCumprod(0));
    }

    private static double cosBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }
}
