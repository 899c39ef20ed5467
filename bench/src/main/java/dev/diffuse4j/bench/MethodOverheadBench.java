package dev.diffuse4j.bench;

import dev.diffuse4j.attention.BatchLayout;
import dev.diffuse4j.attention.Layers;
import dev.diffuse4j.attention.ReferenceAttention;
import dev.diffuse4j.attention.ReferenceAttentionConfig;
import dev.diffuse4j.model.attention.AttentionProcessor;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.model.unet.UNet2DConditionModel;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;

import java.util.Locale;
import java.util.Random;

/**
 * Cost of the attention methods relative to plain attention on one full-size SD1.5 UNet step:
 * a guided batch of 4 images (UNet batch 8) with StyleAligned shared attention (+AdaIN) on every
 * self-attention layer, and with InDetail-IP Stratified Attention (conflict-free) on the decoder's
 * self-attention layers (also with StyleAligned's shared GroupNorm statistics), against the same batch
 * with plain attention.
 * Reports the best wall time and the process CPU time of that run: on a shared machine the CPU time
 * (all worker threads together) is the steadier measure of the work done.
 * <pre>java ... dev.diffuse4j.bench.MethodOverheadBench [latent=32] [repeats=2]</pre>
 */
public final class MethodOverheadBench {
    private MethodOverheadBench() {}

    public static void main(String[] args) {
        int latent = args.length > 0 ? Integer.parseInt(args[0]) : 32;
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        UNetConfig config = UNetConfig.SD15;
        UNet2DConditionModel unet = UNetStepBench.deterministicUNet(config);
        Random r = new Random(1);
        try (Tensor sample = UNetStepBench.randn(r, 8, latent, latent, 4); Tensor context = UNetStepBench.randn(r, 8, 77, 768)) {
            BatchLayout layout = BatchLayout.guidedWithReferenceFirst();
            time(unet, sample, context, 1, "warm-up (plain)", null, null); // JIT settles before anything is compared
            double plain = time(unet, sample, context, repeats, "plain", null, null);
            double shared = time(unet, sample, context, repeats, "style-aligned (all self layers, AdaIN Q/K)",
                    Layers.self(), new ReferenceAttention(ReferenceAttentionConfig.styleAligned(), layout));
            unet.groupNorms(new dev.diffuse4j.attention.SharedGroupNorm(layout));
            double sharedNorm = time(unet, sample, context, repeats, "style-aligned + shared GroupNorm",
                    Layers.self(), new ReferenceAttention(ReferenceAttentionConfig.styleAligned(), layout));
            unet.groupNorms(null);
            double strat = time(unet, sample, context, repeats, "stratified (decoder self layers, cond rows)",
                    Layers.self().and(Layers.decoder()), new ReferenceAttention(ReferenceAttentionConfig.stratified(1, 1), layout));
            plain = Math.min(plain, time(unet, sample, context, repeats, "plain (again)", null, null));
            System.out.printf(Locale.ROOT, "latent %dx%d, UNet batch 8 (4 images, guided), CPU seconds: plain %.2f; style-aligned %.2f (%.2fx); "
                            + "+ shared GroupNorm %.2f (%.2fx); stratified %.2f (%.2fx)%n",
                    latent, latent, plain, shared, shared / plain, sharedNorm, sharedNorm / plain, strat, strat / plain);
        }
        unet.close();
    }

    private static double time(UNet2DConditionModel unet, Tensor sample, Tensor context, int repeats, String label,
                               java.util.function.Predicate<dev.diffuse4j.model.attention.LayerInfo> layers, AttentionProcessor p) {
        unet.processors().reset();
        if (p != null) unet.processors().install(layers, p);
        double best = Double.MAX_VALUE, bestCpu = Double.MAX_VALUE;
        for (int i = 0; i <= repeats; i++) { // the first run warms up the JIT
            long t0 = System.nanoTime(), c0 = processCpuNanos();
            try (Scope s = Scope.open()) {
                unet.forward(UNetInput.of(sample, 500f, context).withStep(StepContext.of(0, 1, 500)));
            }
            double sec = (System.nanoTime() - t0) / 1e9, cpu = (processCpuNanos() - c0) / 1e9;
            if (i > 0) {
                best = Math.min(best, sec);
                bestCpu = Math.min(bestCpu, cpu);
            }
        }
        System.out.printf(Locale.ROOT, "%-46s %.2f s per step (%.2f CPU s)%n", label, best, bestCpu);
        unet.processors().reset();
        return bestCpu;
    }

    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }
}
