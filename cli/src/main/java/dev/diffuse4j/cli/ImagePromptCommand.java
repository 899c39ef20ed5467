package dev.diffuse4j.cli;

import dev.diffuse4j.pipelines.GenerationRequest;
import dev.diffuse4j.pipelines.GenerationResult;
import dev.diffuse4j.pipelines.ImagePromptPipeline;
import dev.diffuse4j.pipelines.StableDiffusion;
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

/** {@code d4j image-prompt}: InDetail-IP image variation and cross-prompt generation from a real image. */
@Command(name = "image-prompt", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Generate from an image prompt (InDetail-IP): DDIM-inverted reference, Stratified Attention in the decoder, conflict-free guidance.")
final class ImagePromptCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions = new ModelOptions();

    @Option(names = "--image", required = true, paramLabel = "IMAGE", description = "the image prompt")
    Path image;

    @Mixin
    PromptOptions prompt = new PromptOptions();

    @Option(names = "--mode", defaultValue = "variation", description = "variation, cross-prompt or structure (default: ${DEFAULT-VALUE})")
    String mode;

    @Option(names = "--inversion-prompt", description = "the image's prompt for inversion (default: --prompt for variation, \"\" for cross-prompt)")
    String inversionPrompt;

    @Mixin
    SamplingOptions sampling = new SamplingOptions();

    @Mixin
    ControlOptions controlOptions = new ControlOptions();

    @Option(names = "-n", defaultValue = "1", description = "number of images (default: ${DEFAULT-VALUE})")
    int images;

    @Option(names = "--stratified-steps", description = "steps with Stratified Attention before KV concatenation (default: 10, structure: 25)")
    Integer stratifiedSteps;

    @Option(names = "--lambda-img", defaultValue = "1.0", description = "lambda_P, weight of the image prompt (default: ${DEFAULT-VALUE})")
    float lambdaImage;

    @Option(names = "--lambda-self", defaultValue = "1.0", description = "lambda_G, weight of the image's own attention (default: ${DEFAULT-VALUE})")
    float lambdaSelf;

    @Option(names = "--naive", description = "the conflicting variant: the image prompt in both guidance branches")
    boolean naive;

    @Option(names = "--no-noise-adain", description = "do not AdaIN the initial noise to the inverted latent")
    boolean noNoiseAdain;

    @Option(names = "--out", required = true, paramLabel = "FOLDER", description = "folder: 0001.png = reference reconstruction, then the generated images")
    Path out;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr(), stdout = spec.commandLine().getOut();
        String m = mode.toLowerCase(Locale.ROOT);
        boolean structure = m.equals("structure");
        if (!structure && !m.equals("variation") && !m.equals("cross-prompt"))
            throw new IllegalArgumentException("--mode must be variation, cross-prompt or structure, got '" + mode + "'");
        if (structure) controlOptions.check(true, " for --mode structure (e.g. a depth or soft-edge ControlNet and map)");
        else if (controlOptions.given()) throw new IllegalArgumentException("--controlnet/--control are for --mode structure");
        String inversion = inversionPrompt != null ? inversionPrompt : m.equals("variation") ? prompt.prompt : "";
        int stratified = stratifiedSteps != null ? stratifiedSteps : structure ? ImagePromptPipeline.Options.structure().stratifiedSteps() : 10;
        var options = new ImagePromptPipeline.Options(stratified, lambdaImage, lambdaSelf, !naive, !noNoiseAdain);
        var reference = Images.read(image);
        var controlImage = structure ? controlOptions.image() : null;
        GenerationRequest.Builder b = sampling.apply(GenerationRequest.builder(prompt.prompt)).negativePrompt(prompt.negative).images(images);
        if (structure && sampling.cfg == null) b.guidanceScale(5.0); // the authors' structure-guided setting
        GenerationRequest base = b.build();
        List<Path> targets = Outputs.paths(out, images + 1);
        try (StableDiffusion sd = modelOptions.load(err)) {
            var listener = new GenerateCommand.CliListener(err, "image-prompt");
            GenerationResult r;
            if (!structure) {
                r = new ImagePromptPipeline(sd).generate(reference, inversion, base, options, listener);
            } else {
                try (var cn = controlOptions.load(modelOptions, sd, err)) {
                    r = new ImagePromptPipeline(sd).generate(reference, inversion, base, options, listener,
                            ImagePromptPipeline.structureControl(cn, controlImage, controlOptions.scale(1.0)));
                }
            }
            for (int i = 0; i < targets.size(); i++) {
                String params = r.parameters(i) + String.format(Locale.ROOT, ", InDetail-IP: %s, image %s, stratified steps %d, lambda_P %s, lambda_G %s, %s guidance",
                        m, image.getFileName(), options.stratifiedSteps(), lambdaImage, lambdaSelf, naive ? "conflicting" : "conflict-free");
                Png.write(targets.get(i), r.images().get(i), Map.of("parameters", params));
                stdout.println(targets.get(i));
            }
            err.println(GenerateCommand.CliListener.timings(r.seconds()));
        }
        return 0;
    }
}
