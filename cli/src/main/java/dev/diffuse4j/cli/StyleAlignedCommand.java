package dev.diffuse4j.cli;

import dev.diffuse4j.attention.Layers;
import dev.diffuse4j.model.attention.LayerInfo;
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
import java.util.function.Predicate;

/** {@code d4j style-aligned}: a style-consistent set from several prompts sharing one style (StyleAligned). */
@Command(name = "style-aligned", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Generate a style-consistent image set: the first prompt is the style reference (StyleAligned shared attention with AdaIN of Q/K).")
final class StyleAlignedCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions = new ModelOptions();

    @Option(names = "--prompt", required = true, description = "one per image, repeatable; without --reference the first is the reference")
    List<String> prompts;

    @Option(names = "--reference", paramLabel = "IMAGE", description = "take the style from this image (DDIM-inverted and replayed as the reference)")
    Path reference;

    @Option(names = "--reference-prompt", description = "with --reference: what the image shows and its style, e.g. \"a man in bed, medieval painting\"")
    String referencePrompt;

    @Option(names = "--inversion-cfg", defaultValue = "2.0", description = "with --reference: guidance scale of the inversion (default: ${DEFAULT-VALUE})")
    double inversionCfg;

    @Option(names = "--style", description = "style description appended to every prompt, e.g. \"macro photo, 3d game asset\"")
    String style;

    @Option(names = "--negative", description = "what to avoid")
    String negative;

    @Mixin
    SamplingOptions sampling = new SamplingOptions();

    @Option(names = "--no-adain", description = "share attention without AdaIN of queries and keys")
    boolean noAdain;

    @Option(names = "--share-scale", defaultValue = "1.0", description = "shared_score_scale: temperature of the reference logits (default: ${DEFAULT-VALUE})")
    float shareScale;

    @Option(names = "--share-shift", defaultValue = "0.0", description = "shared_score_shift: added to reference logits; ln 2 = 0.693 counts the reference twice (default: ${DEFAULT-VALUE})")
    float shareShift;

    @Option(names = "--layers", defaultValue = "all", description = "which self-attention layers share: all, down, mid, up (default: ${DEFAULT-VALUE})")
    String layers;

    @Option(names = "--rankings", paramLabel = "FILE",
            description = "Conditional Balance: a per-timestep layer ranking (JSON: layer_names + stats{t: {q, k[, v]}}, e.g. from analyze-layers, or the authors' torch.save file); share only in its top --lambda-s layers")
    Path rankings;

    @Option(names = "--lambda-s", defaultValue = "0.43", description = "with --rankings: fraction of ranked layers that share (default: ${DEFAULT-VALUE})")
    double lambdaS;

    @Option(names = "--shared-norm", description = "share GroupNorm statistics with the reference too (StyleAligned's share_group_norm; on in the authors' SD1.x notebook)")
    boolean sharedNorm;

    @Option(names = "--out", required = true, paramLabel = "FOLDER", description = "folder for 0001.png (the reference), 0002.png, ...")
    Path out;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr(), stdout = spec.commandLine().getOut();
        if (reference == null && prompts.size() < 2)
            throw new IllegalArgumentException("--prompt must be given at least twice: the reference and one target (or give --reference IMAGE)");
        if (reference != null && referencePrompt == null)
            throw new IllegalArgumentException("--reference needs --reference-prompt describing the image's content and style");
        if (reference == null && referencePrompt != null) throw new IllegalArgumentException("--reference-prompt is only used with --reference IMAGE");
        Predicate<LayerInfo> which = switch (layers.toLowerCase(Locale.ROOT)) {
            case "all" -> Layers.all();
            case "down" -> Layers.block(LayerInfo.Block.DOWN);
            case "mid" -> Layers.block(LayerInfo.Block.MID);
            case "up" -> Layers.decoder();
            default -> throw new IllegalArgumentException("--layers must be all, down, mid or up, got '" + layers + "'");
        };
        List<String> full = StyleAlignedPipeline.styled(prompts, style);
        List<Path> targets = Outputs.paths(out, full.size() + (reference != null ? 1 : 0));
        var referenceImage = reference != null ? dev.diffuse4j.pipelines.image.Images.read(reference) : null;
        GenerationRequest base = sampling.apply(GenerationRequest.builder(full.get(0))).negativePrompt(negative).build();
        try (StableDiffusion sd = modelOptions.load(err)) {
            var ranking = rankings != null ? dev.diffuse4j.attention.LayerRanking.read(rankings) : null;
            var options = new StyleAlignedPipeline.Options(!noAdain, shareScale, shareShift, which, ranking, lambdaS).withSharedNorm(sharedNorm);
            var listener = new GenerateCommand.CliListener(err, "style-aligned");
            var pipeline = new StyleAlignedPipeline(sd);
            GenerationResult r = referenceImage == null ? pipeline.generate(full, base, options, listener)
                    : pipeline.generateFromImage(referenceImage, referencePrompt, inversionCfg, full, base, options, listener);
            for (int i = 0; i < targets.size(); i++) {
                String params = r.parameters(i) + String.format(Locale.ROOT, ", StyleAligned: reference image 1, AdaIN %s, share scale %s, share shift %s, layers %s",
                        noAdain ? "off" : "on", shareScale, shareShift, layers) + (sharedNorm ? ", shared GroupNorm" : "")
                        + (rankings != null ? String.format(Locale.ROOT, ", Conditional Balance: lambda_S %s of %s", lambdaS, rankings.getFileName()) : "");
                Png.write(targets.get(i), r.images().get(i), Map.of("parameters", params));
                stdout.println(targets.get(i));
            }
            err.println(GenerateCommand.CliListener.timings(r.seconds()));
        }
        return 0;
    }
}
