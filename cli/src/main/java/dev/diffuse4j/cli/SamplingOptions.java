package dev.diffuse4j.cli;

import dev.diffuse4j.pipelines.GenerationRequest;
import dev.diffuse4j.pipelines.NoiseMode;
import dev.diffuse4j.schedulers.Samplers;
import picocli.CommandLine.Option;

import java.util.Locale;

/** Sampling options shared by the generating commands. */
final class SamplingOptions {
    @Option(names = "--steps", defaultValue = "30", description = "sampling steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--cfg", paramLabel = "SCALE", description = "guidance scale (default: 7.5 SD1.5, 5.0 SDXL; <= 1 turns guidance off)")
    Double cfg;

    @Option(names = "--seed", defaultValue = "0", description = "noise seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--size", paramLabel = "N|WxH", description = "image size in pixels, multiples of 8 (default: 512 SD1.5, 1024 SDXL)")
    String size;

    @Option(names = "--sampler", defaultValue = "ddim", description = "ddim, euler, dpm++2m, dpm++2m-karras (default: ${DEFAULT-VALUE})")
    String sampler;

    @Option(names = "--noise", defaultValue = "philox", description = "initial noise: philox (same on every backend) or torch (PyTorch CPU randn) (default: ${DEFAULT-VALUE})")
    String noise;

    @Option(names = "--eta", defaultValue = "0", description = "DDIM eta (default: ${DEFAULT-VALUE})")
    double eta;

    @Option(names = "--guidance-rescale", defaultValue = "0", description = "guidance rescale phi in [0, 1] (default: ${DEFAULT-VALUE})")
    double guidanceRescale;

    /** {width, height}; {0, 0} = the model's default. */
    int[] size() {
        if (size == null) return new int[]{0, 0};
        String s = size.trim().toLowerCase(Locale.ROOT);
        try {
            int[] wh;
            if (s.contains("x")) {
                String[] p = s.split("x");
                if (p.length != 2) throw new NumberFormatException();
                wh = new int[]{Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim())};
            } else {
                int n = Integer.parseInt(s);
                wh = new int[]{n, n};
            }
            if (wh[0] <= 0 || wh[1] <= 0 || wh[0] % 8 != 0 || wh[1] % 8 != 0)
                throw new IllegalArgumentException("--size " + size + ": width and height must be positive multiples of 8");
            return wh;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--size " + size + ": expected one number (square) or WxH, e.g. 512 or 768x512");
        }
    }

    GenerationRequest.Builder apply(GenerationRequest.Builder b) {
        int[] wh = size();
        NoiseMode mode = switch (noise.toLowerCase(Locale.ROOT)) {
            case "philox" -> NoiseMode.PHILOX;
            case "torch" -> NoiseMode.TORCH;
            default -> throw new IllegalArgumentException("--noise must be philox or torch, got '" + noise + "'");
        };
        Samplers.create(sampler, dev.diffuse4j.schedulers.SchedulerConfig.stableDiffusion15()); // validates the name early
        return b.steps(steps).guidanceScale(cfg == null ? Double.NaN : cfg).seed(seed).size(wh[0], wh[1]).sampler(sampler)
                .noise(mode).eta(eta).guidanceRescale(guidanceRescale);
    }
}
