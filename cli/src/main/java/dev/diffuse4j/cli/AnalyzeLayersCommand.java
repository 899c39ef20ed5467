package dev.diffuse4j.cli;

import dev.diffuse4j.attention.LayerRanking;
import dev.diffuse4j.model.controlnet.ControlNetModel;
import dev.diffuse4j.pipelines.ConditionalBalancePipeline;
import dev.diffuse4j.pipelines.Control;
import dev.diffuse4j.pipelines.GenerationRequest;
import dev.diffuse4j.pipelines.LayerAnalysisPipeline;
import dev.diffuse4j.pipelines.StableDiffusion;
import dev.diffuse4j.pipelines.image.Png;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code d4j analyze-layers}: a Conditional Balance layer ranking for any model (style sensitivity of each self-attention layer). */
@Command(name = "analyze-layers", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Rank the self-attention layers by style sensitivity (Conditional Balance analysis): generate image series varying only "
                + "the style with full StyleAligned, compare per-layer Q/K/V statistics by Gaussian JSD, write a ranking for style-aligned --rankings.")
final class AnalyzeLayersCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions = new ModelOptions();

    @Mixin
    SamplingOptions sampling = new SamplingOptions();

    @Mixin
    ControlOptions controlOptions = new ControlOptions();

    @Option(names = "--series", paramLabel = "PROMPT",
            description = "content prompt of one image series, repeatable; scores are combined by a trimmed mean (default: \"" + LayerAnalysisPipeline.PUBLISHED_CONTENT + "\")")
    List<String> series;

    @Option(names = "--styles", defaultValue = "3", description = "how many of the authors' 10 style prompts to use, in their order (default: ${DEFAULT-VALUE})")
    int styles;

    @Option(names = "--samples", defaultValue = "2", description = "images per style; sample j uses seed + j (default: ${DEFAULT-VALUE}; the authors use 5)")
    int samples;

    @Option(names = "--negative", description = "what to avoid")
    String negative;

    @Option(names = "--published-window", description = "reproduce the authors' same-style indexing bug (window at style*2 instead of style*samples)")
    boolean publishedWindow;

    @Option(names = "--images", paramLabel = "FOLDER", description = "also save every generated image as s<series>-<style>-<sample>-{ref,target}.png")
    Path images;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "the ranking (JSON: layer_names + stats{timestep: {q, k, v}})")
    Path out;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        int all = LayerAnalysisPipeline.PUBLISHED_STYLES.size();
        if (styles < 2 || styles > all) throw new IllegalArgumentException("--styles must be between 2 and " + all + ", got " + styles);
        var options = new LayerAnalysisPipeline.Options(series == null ? List.of(LayerAnalysisPipeline.PUBLISHED_CONTENT) : series,
                LayerAnalysisPipeline.PUBLISHED_STYLES.subList(0, styles), samples, publishedWindow);
        GenerationRequest base = sampling.apply(GenerationRequest.builder(options.series().getFirst())).negativePrompt(negative).build();
        controlOptions.check(false, " (or give neither for text-only series)");
        var controlImage = controlOptions.given() ? controlOptions.image() : null;
        if (images != null) Files.createDirectories(images);
        if (out.toAbsolutePath().getParent() != null) Files.createDirectories(out.toAbsolutePath().getParent());
        try (StableDiffusion sd = modelOptions.load(err);
             ControlNetModel cn = controlOptions.given() ? controlOptions.load(modelOptions, sd, err) : null) {
            Control control = cn == null ? null : Control.of(cn, controlImage, controlOptions.scale(ConditionalBalancePipeline.CONTROL_SCALE));
            var listener = new GenerateCommand.CliListener(err, "analyze-layers");
            int total = options.series().size() * styles * samples;
            err.printf(Locale.ROOT, "analyze-layers: %d series x %d styles x %d samples = %d generations%n", options.series().size(), styles, samples, total);
            LayerAnalysisPipeline.ImageSink sink = images == null ? null : (s, i, j, r) -> {
                for (int k = 0; k < 2; k++)
                    Png.write(images.resolve(String.format(Locale.ROOT, "s%d-%02d-%d-%s.png", s, i, j, k == 0 ? "ref" : "target")),
                            r.images().get(k), Map.of("parameters", r.parameters(k)));
            };
            LayerRanking ranking = new LayerAnalysisPipeline(sd).analyze(base, options, control, listener, sink);
            ranking.write(out);
            spec.commandLine().getOut().println(out);
            err.printf(Locale.ROOT, "analyze-layers: %d self-attention layers x %d timesteps ranked; most style-sensitive (q) at t=%d: %s%n",
                    ranking.layerNames().size(), ranking.timesteps().size(), ranking.timesteps().getLast(),
                    ranking.rankedByQueries(ranking.timesteps().getLast()).getFirst());
        }
        return 0;
    }
}
