package dev.diffuse4j.bench;

import dev.diffuse4j.attention.guidance.Evaluation;
import dev.diffuse4j.attention.guidance.SelfCrossObjective;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.model.unet.UNet2DConditionModel;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.pipelines.GuidedForward;
import dev.diffuse4j.runtime.MemoryStats;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;

import java.util.Locale;
import java.util.Random;

/**
 * Cost of one Self-Cross guided sampling step relative to a plain one on the CPU, full-size SD1.5
 * UNet (deterministic weights, as {@code --fake-weights sd15}). Plain step: the CFG forward (UNet
 * batch 2). Guided step: a cond-only forward of the latent (batch 1) recorded on the autograd tape
 * with the 16x16-at-512 (level 2) attention maps captured, the Self-Cross objective, the backward pass to
 * the latent, then the same CFG forward. Times are best-of-{@code repeats} after a warm-up; memory is
 * the peak of the runtime's off-heap tensor bytes above what the weights hold. The ratio is also given in
 * process CPU seconds, the steadier measure on a shared machine.
 * <pre>java -Xmx2g ... dev.diffuse4j.bench.GuidedStepBench [latent=32] [repeats=1]</pre>
 * Measured (2 vCPU dev machine shared with other jobs, after the attnbwd/autograd merges), latent 64 (512 px):
 * plain 17.6 s, guided 38.4 s = 2.18x (taped cond forward 8.4 s, backward 12.4 s); peak tensor memory above
 * the weights 0.25 GB plain vs 0.93 GB guided; peak RSS 5.9 GB. Latent 32 (256 px): plain 6.8 s, guided
 * 14.8 s = 2.18x; 0.06 GB vs 0.24 GB.
 */
public final class GuidedStepBench {
    private GuidedStepBench() {}

    public static void main(String[] args) throws Exception {
        int latent = args.length > 0 ? Integer.parseInt(args[0]) : 32;
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        UNetConfig config = UNetConfig.SD15;
        UNet2DConditionModel unet = UNetStepBench.deterministicUNet(config);
        Random r = new Random(1);
        int n = latent * latent * 4;
        float[] z = new float[n];
        for (int i = 0; i < n; i++) z[i] = (float) r.nextGaussian();
        StepContext step = StepContext.of(0, 50, 981);
        int[] subjects = {2, 5};
        try (Tensor sample = UNetStepBench.randn(r, 2, latent, latent, 4); Tensor context = UNetStepBench.randn(r, 2, 77, 768);
             Tensor cond = context.slice(0, 1, 2).contiguous()) {
            long base = MemoryStats.cpuBytesInUse();
            double plain = Double.MAX_VALUE, forward = Double.MAX_VALUE, backward = Double.MAX_VALUE;
            double plainCpu = Double.MAX_VALUE, guidanceCpu = Double.MAX_VALUE;
            long plainPeak = 0, guidedPeak = 0;
            for (int i = 0; i <= repeats; i++) { // run 0 warms up the JIT
                MemoryStats.resetPeak();
                long t0 = System.nanoTime(), c0 = MethodOverheadBench.processCpuNanos();
                try (Scope s = Scope.open()) {
                    unet.forward(UNetInput.of(sample, 981f, context).withStep(step));
                }
                double p = (System.nanoTime() - t0) / 1e9, pc = (MethodOverheadBench.processCpuNanos() - c0) / 1e9;
                plainPeak = Math.max(plainPeak, MemoryStats.cpuPeakBytes() - base);

                MemoryStats.resetPeak();
                long t1 = System.nanoTime(), c1 = MethodOverheadBench.processCpuNanos();
                Evaluation e;
                double f, b;
                try (GuidedForward g = new GuidedForward(unet, z, latent, latent, 4, 1f, step, cond, l -> l.level() == 2,
                        new SelfCrossObjective(), subjects)) {
                    e = g.evaluation();
                    f = (System.nanoTime() - t1) / 1e9;
                    long t2 = System.nanoTime();
                    g.gradient(e.update().gradient());
                    b = (System.nanoTime() - t2) / 1e9;
                }
                double gc = (MethodOverheadBench.processCpuNanos() - c1) / 1e9;
                guidedPeak = Math.max(guidedPeak, MemoryStats.cpuPeakBytes() - base);
                System.out.printf(Locale.ROOT, "%s: plain %.2f s | taped cond forward %.2f s + backward %.2f s (loss %.4f)%n",
                        i == 0 ? "warm-up" : "run " + i, p, f, b, e.update().value());
                if (i > 0) {
                    plain = Math.min(plain, p);
                    forward = Math.min(forward, f);
                    backward = Math.min(backward, b);
                    plainCpu = Math.min(plainCpu, pc);
                    guidanceCpu = Math.min(guidanceCpu, gc);
                }
            }
            double guided = plain + forward + backward;
            System.out.printf(Locale.ROOT, "SD1.5 latent %dx%d (%d px), CPU: plain step %.2f s; guided step %.2f s = %.2fx "
                            + "(taped cond forward %.2f s, backward %.2f s, CFG forward %.2f s)%n", latent, latent, latent * 8, plain, guided,
                    guided / plain, forward, backward, plain);
            System.out.printf(Locale.ROOT, "CPU seconds: plain step %.2f, guidance (taped forward + backward) %.2f, guided step = %.2fx plain%n",
                    plainCpu, guidanceCpu, (plainCpu + guidanceCpu) / plainCpu);
            System.out.printf(Locale.ROOT, "peak tensor memory above weights: plain %.2f GB, guidance (tape + maps + backward) %.2f GB; peak RSS %.2f GB%n",
                    plainPeak / 1e9, guidedPeak / 1e9, UNetStepBench.peakRssBytes() / 1e9);
        }
        unet.close();
    }
}
