package dev.diffuse4j.cli;

import dev.diffuse4j.pipelines.GenerationRequest;
import dev.diffuse4j.pipelines.GenerationResult;
import dev.diffuse4j.pipelines.StableDiffusion;
import dev.diffuse4j.pipelines.StableDiffusionPipeline;
import dev.diffuse4j.pipelines.StepListener;
import dev.diffuse4j.pipelines.VaeDecoding;
import dev.diffuse4j.pipelines.image.Images;
import dev.diffuse4j.pipelines.image.Png;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code d4j generate}: text to image (or image to image with --image), written as PNGs with their parameters. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Generate images from a prompt with SD1.5 or SDXL.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions = new ModelOptions();

    @Mixin
    PromptOptions prompt = new PromptOptions();

    @Mixin
    SamplingOptions sampling = new SamplingOptions();

    @Option(names = "-n", defaultValue = "1", description = "number of images (default: ${DEFAULT-VALUE})")
    int images;

    @Option(names = "--image", paramLabel = "FILE", description = "image-to-image: start from this picture")
    Path image;

    @Option(names = "--strength", defaultValue = "0.75", description = "image-to-image strength in (0, 1] (default: ${DEFAULT-VALUE})")
    double strength;

    @Mixin
    ControlOptions controlOptions = new ControlOptions();

    @Option(names = "--sdxl-sizes", paramLabel = "OH,OW,CT,CL,TH,TW", split = ",",
            description = "SDXL micro-conditioning: original size, crop top-left, target size (default: the image size, no crop)")
    int[] sdxlSizes;

    @Option(names = "--vae-tiling", defaultValue = "auto", description = "auto, on or off (default: ${DEFAULT-VALUE})")
    String vaeTiling;

    @Option(names = "--out", required = true, paramLabel = "PATH",
            description = "a .png file, or a folder for several images (out/0001.png, ...)")
    Path out;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr(), stdout = spec.commandLine().getOut();
        GenerationRequest.Builder b = sampling.apply(GenerationRequest.builder(prompt.prompt)).negativePrompt(prompt.negative).images(images);
        if (image != null) b.initImage(Images.read(image), strength);
        if (sdxlSizes != null) {
            if (sdxlSizes.length != 6) throw new IllegalArgumentException("--sdxl-sizes takes 6 numbers: original h,w, crop top,left, target h,w");
            b.sdxlSizes(sdxlSizes[0], sdxlSizes[1], sdxlSizes[2], sdxlSizes[3], sdxlSizes[4], sdxlSizes[5]);
        }
        GenerationRequest request = b.build();
        controlOptions.check(false, "");
        var controlImage = controlOptions.given() ? controlOptions.image() : null;
        VaeDecoding.Tiling tiling = VaeDecoding.Tiling.valueOf(vaeTiling.toUpperCase(Locale.ROOT));
        List<Path> targets = Outputs.paths(out, images);
        try (StableDiffusion sd = modelOptions.load(err)) {
            StableDiffusionPipeline pipeline = new StableDiffusionPipeline(sd).vaeTiling(tiling);
            GenerationResult result;
            if (controlImage == null) {
                result = pipeline.generate(request, new CliListener(err, "generate"));
            } else {
                try (var cn = controlOptions.load(modelOptions, sd, err)) {
                    var control = dev.diffuse4j.pipelines.Control.of(cn, controlImage, controlOptions.scale(1.0));
                    result = pipeline.generate(request, new CliListener(err, "generate"), dev.diffuse4j.pipelines.LatentHook.NONE, control);
                }
            }
            for (int i = 0; i < targets.size(); i++) {
                Png.write(targets.get(i), result.images().get(i), Map.of("parameters", result.parameters(i)));
                stdout.println(targets.get(i));
            }
            err.println(CliListener.timings(result.seconds()));
            if (sd.vae().upcasts() > 0)
                err.println("note: the VAE overflowed in " + sd.vae().activations() + " " + sd.vae().upcasts() + " time(s); those passes were redone in F32");
        }
        return 0;
    }

    /** Progress bar for sampling steps; phases and warnings as lines. */
    static final class CliListener implements StepListener {
        private final PrintWriter err;
        private final String label;
        private ProgressBar bar;

        CliListener(PrintWriter err, String label) {
            this.err = err;
            this.label = label;
        }

        @Override
        public void onStart(int total) {
            bar = new ProgressBar(err, label, total);
            bar.update(0);
        }

        @Override
        public void onStep(int done, int total) {
            if (bar == null) onStart(total);
            bar.update(done);
        }

        @Override
        public void onWarning(String message) { err.println("warning: " + message); }

        static String timings(Map<String, Double> seconds) {
            StringBuilder sb = new StringBuilder("time:");
            seconds.forEach((k, v) -> sb.append(String.format(Locale.ROOT, " %s %.2f s,", k, v)));
            sb.setLength(sb.length() - 1);
            return sb.toString();
        }
    }
}
