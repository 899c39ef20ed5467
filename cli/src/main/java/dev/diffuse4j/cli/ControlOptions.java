package dev.diffuse4j.cli;

import dev.diffuse4j.model.controlnet.ControlNetLoader;
import dev.diffuse4j.model.controlnet.ControlNetModel;
import dev.diffuse4j.pipelines.FakeModels;
import dev.diffuse4j.pipelines.StableDiffusion;
import dev.diffuse4j.pipelines.image.Images;
import dev.diffuse4j.pipelines.image.RgbImage;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;

/** ControlNet options: which ControlNet, the control image, the conditioning scale. */
final class ControlOptions {
    @Option(names = "--controlnet", paramLabel = "MODEL",
            description = "ControlNet: a diffusers ControlNetModel folder (config.json + diffusion_pytorch_model[.fp16].safetensors), "
                    + "an original control_*.safetensors file, or 'fake' (deterministic, with --fake-weights)")
    String controlnet;

    @Option(names = "--control", paramLabel = "IMAGE", description = "control image (depth, soft-edge, canny map...), resized to the output size")
    Path control;

    @Option(names = "--control-scale", paramLabel = "S", description = "ControlNet conditioning scale")
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

    ControlNetModel load(ModelOptions model, StableDiffusion sd, PrintWriter err) {
        long t0 = System.nanoTime();
        ControlNetModel m;
        if (controlnet.equalsIgnoreCase("fake")) {
            if (model.fakeWeights == null) throw new IllegalArgumentException("--controlnet fake needs --fake-weights (it makes the ControlNet of that fake model)");
            m = FakeModels.controlNet(model.fakeWeights, sd.device());
        } else {
            m = ControlNetLoader.load(Path.of(controlnet), model.fp16, sd.unet().config(), sd.device());
        }
        err.printf(Locale.ROOT, "loaded ControlNet %s (%s) in %.1f s%n", controlnet, m.config().family().displayName(), (System.nanoTime() - t0) / 1e9);
        return m;
    }
}
