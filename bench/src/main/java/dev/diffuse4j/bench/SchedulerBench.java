package dev.diffuse4j.bench;

import dev.diffuse4j.schedulers.Samplers;
import dev.diffuse4j.schedulers.Scheduler;
import dev.diffuse4j.schedulers.SchedulerConfig;
import dev.diffuse4j.schedulers.noise.PhiloxGaussian;
import dev.diffuse4j.schedulers.noise.TorchCpuRandn;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cost of the scheduler side of a denoising step and of drawing initial latents, at SDXL latent size
 * (1 x 4 x 128 x 128 = 65536 values). Run: see bench/README or
 * {@code java -cp <bench classpath> org.openjdk.jmh.Main SchedulerBench}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx1g"})
public class SchedulerBench {
    private static final int LATENTS = 4 * 128 * 128;

    /** A sampler with a 500-step schedule and fixed latents and model output. */
    @State(Scope.Thread)
    public static class Sampler {
        @Param({"ddim", "euler", "dpm++2m"})
        public String name;

        Scheduler scheduler;
        float[] sample, modelOutput;
        int step;

        @Setup
        public void setUp() {
            scheduler = Samplers.create(name, SchedulerConfig.stableDiffusionXl());
            scheduler.setTimesteps(500);
            sample = PhiloxGaussian.seeded(1).next(LATENTS);
            modelOutput = PhiloxGaussian.seeded(2).next(LATENTS);
        }
    }

    /** One scheduler update (the x0 estimate and the step), walking a 500-step schedule. */
    @Benchmark
    public float[] step(Sampler s) {
        if (s.step == s.scheduler.numSteps()) {
            s.scheduler.reset();
            s.step = 0;
        }
        return s.scheduler.step(s.modelOutput, s.step++, s.sample, null);
    }

    /** Initial latents from the counter-based generator. */
    @Benchmark
    public float[] philoxLatents() {
        return PhiloxGaussian.seeded(42).next(LATENTS);
    }

    /** Initial latents exactly as torch.manual_seed(42); torch.randn(1, 4, 128, 128). */
    @Benchmark
    public float[] torchLatents() {
        return TorchCpuRandn.seeded(42).next(LATENTS);
    }
}
