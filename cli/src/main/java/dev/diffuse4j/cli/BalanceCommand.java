package dev.diffuse4j.cli;

import dev.diffuse4j.attention.LayerRanking;
import dev.diffuse4j.model.controlnet.ControlNetModel;
import dev.diffuse4j.pipelines.ConditionalBalancePipeline;
import dev.diffuse4j.pipelines.Control;
import dev.diffuse4j.pipelines.GenerationRequest;
import dev.diffuse4j.pipelines.GenerationResult;
import dev.diffuse4j.pipelines.StableDiffusion;
import dev.diffuse4j.pipelines.StyleAlignedPipeline;
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

/** {@code d4j balance}: Conditional Balance, style from a reference balanced against content and ControlNet structure. */
@Command(name = "balance", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Conditional Balance: StyleAligned in the lambda-S most style-sensitive layers of a per-timestep ranking, "
                + "plus ControlNet structure on the targets whose down residuals stop below t = lambda-T * 1000.")
final class BalanceCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions = new ModelOptions();

    @Option(names = "--prompt", required = true, description = "one per image, repeatable; the first is the style reference, e.g. \"A watercolor painting\"")
    List<String> prompts;

    @Option(names = "--style", description = "style appended to every prompt, e.g. \"in the style of John Singer Sargent\"")
    String style;

    @Option(names = "--negative", description = "what to avoid")
    String negative;

    @Option(names = "--rankings", required = true, paramLabel = "FILE",
            description = "per-timestep layer ranking (JSON: layer_names + stats{t: {q, k[, v]}}), e.g. the authors' style_layer_grading converted")
    Path rankings;

    @Option(names = "--lambda-s", description = "fraction of ranked layers that share style (default: 0.43 text-only, 0.57 with ControlNet)")
    Double lambdaS;

    @Option(names = "--lambda-t", defaultValue = "0.8", description = "ControlNet down residuals only while t >= int(lambda-t * 1000) (default: ${DEFAULT-VALUE})")
    double lambdaT;

    @Option(names = "--shared-target-noise", description = "every target starts from the same noise, so they differ only by prompt (the authors' --initialize_latents)")
    boolean sharedTargetNoise;

    @Mixin
    ControlOptions controlOptions = new ControlOptions();

    @Mixin
    SamplingOptions sampling = new SamplingOptions();

    @Option(names = "--out", required = true, paramLabel = "FOLDER", description = "folder for 0001.png (the reference), 0002.png, ...")
    Path out;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr(), stdout = spec.commandLine().getOut();
        if (prompts.size() < 2) throw new IllegalArgumentException("--prompt must be given at least twice: the style reference and one target");
        controlOptions.check(false, " (or give neither for text-only balance)");
        boolean controlled = controlOptions.given();
        LayerRanking ranking = LayerRanking.read(rankings);
        double ls = lambdaS != null ? lambdaS : controlled ? ConditionalBalancePipeline.LAMBDA_S_CONTROL : ConditionalBalancePipeline.LAMBDA_S_TEXT;
        var options = new ConditionalBalancePipeline.Options(ranking, ls, lambdaT, controlOptions.scale(ConditionalBalancePipeline.CONTROL_SCALE),
                sharedTargetNoise);
        var controlImage = controlled ? controlOptions.image() : null;
        List<String> full = StyleAlignedPipeline.styled(prompts, style);
        List<Path> targets = Outputs.paths(out, full.size());
        GenerationRequest base = sampling.apply(GenerationRequest.builder(full.get(0))).negativePrompt(negative).build();
        try (StableDiffusion sd = modelOptions.load(err);
             ControlNetModel cn = controlled ? controlOptions.load(modelOptions, sd, err) : null) {
            int[] structureSteps = new int[2]; // full, mid-only
            Control.Listener counter = (step, t, level, rows) -> {
                if (level == Control.Level.FULL) structureSteps[0]++;
                else if (level == Control.Level.MID_ONLY) structureSteps[1]++;
            };
            GenerationResult r = new ConditionalBalancePipeline(sd).generate(full, base, options, cn, controlImage,
                    new GenerateCommand.CliListener(err, "balance"), counter);
            String extra = String.format(Locale.ROOT, ", Conditional Balance: lambda_S %s of %s", ls, rankings.getFileName())
                    + (controlled ? String.format(Locale.ROOT, ", lambda_T %s, control %s (structure at %d steps, mid only at %d)",
                    lambdaT, controlOptions.control.getFileName(), structureSteps[0], structureSteps[1]) : "");
            for (int i = 0; i < targets.size(); i++) {
                Png.write(targets.get(i), r.images().get(i), Map.of("parameters", r.parameters(i) + extra));
                stdout.println(targets.get(i));
            }
            if (controlled) err.printf(Locale.ROOT, "ControlNet structure at %d steps, mid residual only at %d%n", structureSteps[0], structureSteps[1]);
            err.println(GenerateCommand.CliListener.timings(r.seconds()));
        }
        return 0;
    }
}
