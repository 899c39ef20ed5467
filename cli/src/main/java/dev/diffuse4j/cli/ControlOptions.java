package dev.diffuse4j.cli;

import dev.diffuse4j.model.controlnet.ControlNetLoader;
import dev.diffuse4j.model.controlnet.ControlNetModel;
import dev.diffuse4j.pipelines.FakeModels;
import dev.diffuse4j.pipelines.StableDiffusion;
import dev.diffuse4j.pipelines.image.Images;
import dev.diffuse4j.pipelines.image.RgbImage;
import picocli.CommandLine.Option;

import dev.diffuse4j.pipelines.hub.HubDownloader;
import dev.diffuse4j.pipelines.hub.HubRepoId;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** ControlNet options: which ControlNet, the control image, the conditioning scale. */
final class ControlOptions {
    @Option(names = "--controlnet", paramLabel = "MODEL",
            description = "ControlNet: a diffusers ControlNetModel folder (config.json + diffusion_pytorch_model[.fp16].safetensors) or its "
                    + "Hugging Face repo id, an original control_*.safetensors file, or 'fake' (deterministic, with --fake-weights)")
    String controlnet;

    @Option(names = "--control", paramLabel = "IMAGE", description = "control image (depth, soft-edge, canny map...), resized to the output size")
    Path control;

    @Option(names = "--control-scale", paramLabel = "S", description = "ControlNet conditioning scale (default: 1.0; balance: 0.8)")
    Double controlScale;

    boolean given() { return controlnet != null || control != null; }

    /** Both or neither; {@code required} makes "neither" an error too. */
    void check(boolean required, String why) {
        if (controlnet == null && control != null) throw new IllegalArgumentException("--control IMAGE needs --controlnet MODEL" + why);
        if (controlnet != null && control == null) throw new IllegalArgumentException("--controlnet MODEL needs --control IMAGE" + why);
        if (required && controlnet == null) throw new IllegalArgumentException("give --controlnet MODEL and --control IMAGE" + why);
        if (controlScale != null && !(controlScale >= 0)) throw new IllegalArgumentException("--control-scale must be >= 0, got " + controlScale);
    }

    double scale(double dflt) { return controlScale != null ? controlScale : dflt; }

    RgbImage image() throws IOException { return Images.read(control); }

    /** A local path, or a hub repo id (e.g. lllyasviel/control_v11f1p_sd15_depth) downloaded into the hub cache. */
    private Path resolve(boolean fp16, PrintWriter err) {
        Path p = Path.of(controlnet);
        if (Files.exists(p) || !HubRepoId.looksLikeRepoId(controlnet)) return p;
        try {
            return HubDownloader.fromEnvironment((file, done, total) -> {
                if (done == total) err.printf(Locale.ROOT, "downloaded %s (%.1f MB)%n", file, total / 1e6);
            }).download(controlnet, "main", files -> hubFiles(files, fp16));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot download ControlNet " + controlnet + ": " + e.getMessage(), e);
        }
    }

    /** From a ControlNet repo: config.json and one weights file (fp16 first with --fp16, else full precision first). */
    static Set<String> hubFiles(List<String> files, boolean fp16) {
        List<String> order = fp16 ? List.of("diffusion_pytorch_model.fp16.safetensors", "diffusion_pytorch_model.safetensors")
                : List.of("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors");
        if (!files.contains("config.json")) throw new IllegalArgumentException("the repo has no config.json at its root: not a diffusers ControlNetModel");
        for (String w : order)
            if (files.contains(w)) return new LinkedHashSet<>(List.of("config.json", w));
        throw new IllegalArgumentException("the repo has no diffusion_pytorch_model[.fp16].safetensors at its root (it holds " + files + ")");
    }

    ControlNetModel load(ModelOptions model, StableDiffusion sd, PrintWriter err) {
        long t0 = System.nanoTime();
        ControlNetModel m;
        if (controlnet.equalsIgnoreCase("fake")) {
            if (model.fakeWeights == null) throw new IllegalArgumentException("--controlnet fake needs --fake-weights (it makes the ControlNet of that fake model)");
            m = FakeModels.controlNet(model.fakeWeights, sd.placement());
        } else {
            m = ControlNetLoader.load(resolve(model.fp16, err), model.fp16, sd.unet().config(), sd.placement());
        }
        err.printf(Locale.ROOT, "loaded ControlNet %s (%s) in %.1f s%n", controlnet, m.config().family().displayName(), (System.nanoTime() - t0) / 1e9);
        return m;
    }
}
