package dev.diffuse4j.cli;

import dev.diffuse4j.attention.MapFiles;
import dev.diffuse4j.model.tokenizer.ClipTokenizer;
import dev.diffuse4j.model.tokenizer.TokenIds;
import dev.diffuse4j.model.tokenizer.Tokenizer;
import dev.diffuse4j.pipelines.AttentionMapsPipeline;
import dev.diffuse4j.pipelines.GenerationRequest;
import dev.diffuse4j.pipelines.StableDiffusion;
import dev.diffuse4j.pipelines.image.Heatmaps;
import dev.diffuse4j.pipelines.image.Png;
import dev.diffuse4j.pipelines.image.RgbImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code d4j attention-maps}: generates an image and writes, as PNG overlays on it, the cross-attention
 * map of every prompt token and the self-attention map of a few query positions, averaged over
 * heads, layers (at one resolution level, by default the coarsest with attention) and steps.
 */
@Command(name = "attention-maps", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Generate an image and write per-token cross-attention and self-attention heat-maps over it.")
final class AttentionMapsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions = new ModelOptions();

    @Mixin
    PromptOptions prompt = new PromptOptions();

    @Mixin
    SamplingOptions sampling = new SamplingOptions();

    @Option(names = "--out", required = true, paramLabel = "FOLDER", description = "folder for image.png, token-NN-*.png, self-*.png")
    Path out;

    @Option(names = "--level", defaultValue = "-1", paramLabel = "N",
            description = "resolution level of the maps: 0 = the latent grid (64x64 at 512 px), 1 = half of it, ...; default the coarsest with attention")
    int level;

    @Option(names = "--save-maps", paramLabel = "FOLDER",
            description = "also write every captured map unaveraged, per step and layer: FOLDER/step-NNN.safetensors ([B, queries, keys] F32 under the layer's name)")
    Path saveMaps;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr(), stdout = spec.commandLine().getOut();
        GenerationRequest request = sampling.apply(GenerationRequest.builder(prompt.prompt)).negativePrompt(prompt.negative).build();
        try (StableDiffusion sd = modelOptions.load(err); MapFiles files = saveMaps == null ? null : new MapFiles(saveMaps)) {
            AttentionMapsPipeline.Result r = new AttentionMapsPipeline(sd).generate(request, new GenerateCommand.CliListener(err, "attention-maps"), files, level);
            if (files != null) {
                files.close(); // writes the last step
                err.printf(Locale.ROOT, "wrote the maps of %d steps to %s%n", files.filesWritten(), saveMaps);
            }
            RgbImage img = r.generation().images().get(0);
            write(stdout, out.resolve("image.png"), img, r.generation().parameters());
            int cells = r.height() * r.width();
            List<String> labels = tokenLabels(sd.prompts().tokenizer(), prompt.prompt);
            for (int t = 0; t < labels.size() && t + 1 < r.tokens(); t++) {
                float[] map = new float[cells];
                for (int q = 0; q < cells; q++) map[q] = r.cross()[q * r.tokens() + t + 1]; // +1: after the start token
                String name = String.format(Locale.ROOT, "token-%02d-%s.png", t + 1, safe(labels.get(t)));
                write(stdout, out.resolve(name), Heatmaps.overlay(img, map, r.height(), r.width(), 0.6f),
                        "cross-attention of token " + (t + 1) + " '" + labels.get(t) + "' (" + r.height() + "x" + r.width() + ")");
            }
            int[][] probes = {{r.height() / 4, r.width() / 4}, {r.height() / 2, r.width() / 2}, {3 * r.height() / 4, 3 * r.width() / 4}};
            for (int[] p : probes) {
                int q = p[0] * r.width() + p[1];
                float[] map = new float[cells];
                System.arraycopy(r.self(), q * cells, map, 0, cells);
                write(stdout, out.resolve(String.format(Locale.ROOT, "self-y%02d-x%02d.png", p[0], p[1])),
                        Heatmaps.overlay(img, map, r.height(), r.width(), 0.6f), "self-attention of query cell " + p[0] + "," + p[1]);
            }
            err.println(GenerateCommand.CliListener.timings(r.generation().seconds()));
        }
        return 0;
    }

    private static void write(PrintWriter stdout, Path p, RgbImage img, String params) throws java.io.IOException {
        Png.write(p, img, Map.of("parameters", params));
        stdout.println(p);
    }

    /** The prompt's tokens as text, in order (BPE pieces for CLIP vocabularies, bytes for the byte-level one). */
    static List<String> tokenLabels(Tokenizer tok, String prompt) {
        TokenIds ids = tok.encode(prompt);
        List<String> labels = new ArrayList<>();
        if (tok instanceof ClipTokenizer clip) {
            for (String piece : clip.bpeWords(prompt)) for (String sym : piece.split(" ")) labels.add(sym.replace("</w>", ""));
        } else {
            for (byte b : prompt.getBytes(StandardCharsets.UTF_8)) labels.add(b >= 33 && b < 127 ? String.valueOf((char) b) : "_");
        }
        return labels.subList(0, Math.min(labels.size(), ids.contentCount()));
    }

    private static String safe(String s) {
        String t = s.replaceAll("[^A-Za-z0-9._-]", "_");
        return t.isEmpty() ? "_" : t.length() > 24 ? t.substring(0, 24) : t;
    }
}
