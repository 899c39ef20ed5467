package dev.diffuse4j.bench;

import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.model.unet.LdmUNetMapping;
import dev.diffuse4j.model.unet.UNet2DConditionModel;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.model.unet.UNetLoader;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.MemoryStats;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.weights.DeterministicWeights;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;

/**
 * End-to-end cost of one full-size UNet step on the CPU: deterministic weights (WEIGHTS.md), latent
 * {@code size x size}, batch 2 as with classifier-free guidance. Prints load time, seconds per step
 * (first step separately: it includes JIT compilation) and peak resident memory.
 * <pre>java ... dev.diffuse4j.bench.UNetStepBench sd15|sdxl [latent=64|128] [steps=2]</pre>
 */
public final class UNetStepBench {
    private UNetStepBench() {}

    public static void main(String[] args) throws IOException {
        String which = args.length > 0 ? args[0] : "sd15";
        boolean xl = which.equals("sdxl");
        UNetConfig config = xl ? UNetConfig.SDXL_BASE : UNetConfig.SD15;
        int latent = args.length > 1 ? Integer.parseInt(args[1]) : xl ? 128 : 64;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int batch = 2;

        long t0 = System.nanoTime();
        UNet2DConditionModel unet = deterministicUNet(config);
        double load = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "%s UNet, latent %dx%d, batch %d, %d threads: weights generated and loaded in %.1f s, %.2f GB held%n",
                which, latent, latent, batch, dev.diffuse4j.runtime.cpu.Parallel.threads(), load, MemoryStats.cpuBytesInUse() / 1e9);

        Random r = new Random(1);
        try (Tensor sample = randn(r, batch, latent, latent, config.inChannels());
             Tensor context = randn(r, batch, 77, config.crossAttentionDim());
             Tensor y = xl ? randn(r, batch, config.projectionClassEmbeddingsInputDim()) : null) {
            double total = 0;
            for (int i = 0; i < steps; i++) {
                long s = System.nanoTime();
                try (Scope scope = Scope.open()) {
                    UNetInput in = UNetInput.of(sample, 500f, context).withStep(StepContext.of(i, steps, 500));
                    if (xl) in = in.withY(y);
                    unet.forward(in);
                }
                double sec = (System.nanoTime() - s) / 1e9;
                if (i > 0) total += sec;
                System.out.printf(Locale.ROOT, "step %d: %.2f s%s%n", i, sec, i == 0 ? " (includes JIT warm-up)" : "");
            }
            if (steps > 1) System.out.printf(Locale.ROOT, "seconds per step (steady): %.2f%n", total / (steps - 1));
        }
        System.out.printf(Locale.ROOT, "peak resident memory: %.2f GB (tensor memory peak %.2f GB)%n", peakRssBytes() / 1e9, MemoryStats.cpuPeakBytes() / 1e9);
        unet.close();
    }

    /** A full-size UNet of this config on the CPU with the goldens' deterministic weights (as --fake-weights). */
    static UNet2DConditionModel deterministicUNet(UNetConfig config) {
        try (DeterministicWeights w = new DeterministicWeights(LdmUNetMapping.checkpointTensors(config, LdmUNetMapping.PREFIX))) {
            return UNetLoader.fromSingleFile(config, w, Device.CPU);
        }
    }

    static Tensor randn(Random r, int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }

    /** VmHWM of this process. */
    static double peakRssBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status")))
            if (line.startsWith("VmHWM:")) return Double.parseDouble(line.replaceAll("[^0-9]", "")) * 1024;
        return Double.NaN;
    }
}
