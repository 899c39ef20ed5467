package dev.diffuse4j.cli;

import dev.diffuse4j.pipelines.image.Images;
import dev.diffuse4j.pipelines.image.Png;
import dev.diffuse4j.pipelines.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.diffuse4j.cli.GenerateCommandTest.assertRefused;
import static dev.diffuse4j.cli.GenerateCommandTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** The attention-method commands end to end on the tiny fake model. */
class MethodCommandsTest {
    @TempDir
    Path tmp;

    @Test
    void styleAlignedKeepsTheReferenceImageAndRestylesTheOthers() throws Exception {
        Path set = tmp.resolve("set");
        String[] common = {"--fake-weights", "tiny-sd15", "--steps", "3", "--size", "64", "--seed", "4"};
        GenerateCommandTest.Run r = run(GenerateCommandTest.concat(new String[]{"style-aligned", "--prompt", "a cat", "--prompt", "a dog",
                "--style", "ink", "--out", set.toString()}, common));
        assertEquals(0, r.exit(), r.err());
        RgbImage ref = Images.read(set.resolve("0001.png")), target = Images.read(set.resolve("0002.png"));
        assertTrue(Png.readText(Files.readAllBytes(set.resolve("0002.png"))).get("parameters").startsWith("a dog, ink\n"));
        RgbImage plainRef = plainReference(common);
        assertTrue(meanAbsDiff(ref, plainRef) < 1.0, "the reference is generated as without sharing: " + meanAbsDiff(ref, plainRef));
        assertTrue(meanAbsDiff(target, plainRef) > 1.0, "targets differ from the reference");
    }

    private RgbImage plainReference(String[] common) throws Exception {
        Path out = tmp.resolve("ref.png");
        GenerateCommandTest.Run r = run(GenerateCommandTest.concat(new String[]{"generate", "--prompt", "a cat, ink", "--out", out.toString()}, common));
        assertEquals(0, r.exit(), r.err());
        return Images.read(out);
    }

    @Test
    void styleTransferFromAReferenceImageReconstructsTheReference() throws Exception {
        Path refPng = tmp.resolve("ref.png"), set = tmp.resolve("transfer");
        String[] common = {"--fake-weights", "tiny-sd15", "--steps", "4", "--size", "64", "--seed", "2"};
        assertEquals(0, run(GenerateCommandTest.concat(new String[]{"generate", "--prompt", "a cat", "--out", refPng.toString()}, common)).exit());
        GenerateCommandTest.Run r = run(GenerateCommandTest.concat(new String[]{"style-aligned", "--reference", refPng.toString(),
                "--reference-prompt", "a cat", "--prompt", "a dog", "--out", set.toString()}, common));
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.exists(set.resolve("0001.png")) && Files.exists(set.resolve("0002.png")), r.out());
        // the reference row follows the inversion trajectory and ends on the image's own latent: a VAE round trip of it
        RgbImage original = Images.read(refPng), reconstructed = Images.read(set.resolve("0001.png"));
        RgbImage other = Images.read(set.resolve("0002.png"));
        assertTrue(meanAbsDiff(original, reconstructed) < meanAbsDiff(original, other),
                "reconstruction " + meanAbsDiff(original, reconstructed) + " vs generated target " + meanAbsDiff(original, other));
        assertRefused(run(GenerateCommandTest.concat(new String[]{"style-aligned", "--reference", refPng.toString(), "--prompt", "a dog",
                "--out", tmp.resolve("y").toString()}, common)), "--reference-prompt");
    }

    @Test
    void attentionMapsWritesATokenOverlayPerPromptToken() {
        Path dir = tmp.resolve("maps");
        Path raw = tmp.resolve("raw");
        GenerateCommandTest.Run r = run("attention-maps", "--fake-weights", "tiny-sd15", "--prompt", "fox", "--steps", "2", "--size", "64",
                "--save-maps", raw.toString(), "--out", dir.toString());
        assertEquals(0, r.exit(), r.err());
        for (String f : new String[]{"image.png", "token-01-f.png", "token-02-o.png", "token-03-x.png"})
            assertTrue(Files.exists(dir.resolve(f)), f + " in " + r.out());
        // the raw maps: one file per step, every captured layer, [B, queries, keys] probabilities (rows sum to 1)
        for (int step = 0; step < 2; step++) {
            try (var file = dev.diffuse4j.weights.SafetensorsFile.open(dev.diffuse4j.attention.MapFiles.fileOf(raw, step))) {
                assertEquals(Integer.toString(step), file.metadata().get("step"));
                assertTrue(file.keys().stream().anyMatch(k -> k.endsWith("attn1")) && file.keys().stream().anyMatch(k -> k.endsWith("attn2")),
                        "self- and cross-attention layers: " + file.keys());
                for (String key : file.keys()) {
                    try (var t = file.tensor(key)) {
                        assertEquals(3, t.rank(), key);
                        assertEquals(2, t.dim(0), key + ": uncond and cond rows");
                        float[] p = t.toFloatArray();
                        int keys = t.dim(2);
                        for (int row = 0; row < p.length / keys; row++) {
                            double sum = 0;
                            for (int j = 0; j < keys; j++) sum += p[row * keys + j];
                            assertEquals(1.0, sum, 1e-4, key + " row " + row);
                        }
                    }
                }
            }
        }
        assertFalse(Files.exists(dev.diffuse4j.attention.MapFiles.fileOf(raw, 2)));
    }

    @Test
    void attentionMapsAtAChosenResolutionLevel() throws Exception {
        // tiny SD1.5 at 64 px: an 8x8 latent; attention at level 0 (8x8) and in the mid block (level 1, 4x4, the default)
        Path coarse = tmp.resolve("coarse"), fine = tmp.resolve("fine");
        String[] common = {"attention-maps", "--fake-weights", "tiny-sd15", "--prompt", "fox", "--steps", "2", "--size", "64"};
        assertEquals(0, run(GenerateCommandTest.concat(common, "--out", coarse.toString())).exit());
        GenerateCommandTest.Run r = run(GenerateCommandTest.concat(common, "--level", "0", "--out", fine.toString()));
        assertEquals(0, r.exit(), r.err());
        String coarseText = dev.diffuse4j.pipelines.image.Png.readText(Files.readAllBytes(coarse.resolve("token-01-f.png"))).get("parameters");
        String fineText = dev.diffuse4j.pipelines.image.Png.readText(Files.readAllBytes(fine.resolve("token-01-f.png"))).get("parameters");
        assertTrue(coarseText.contains("(4x4)"), coarseText);
        assertTrue(fineText.contains("(8x8)"), fineText);
        assertTrue(Files.exists(fine.resolve("self-y04-x04.png")), "self-attention probes on the 8x8 grid");
        assertRefused(run(GenerateCommandTest.concat(common, "--level", "5", "--out", tmp.resolve("x").toString())), "levels with attention: [0, 1]");
    }

    @Test
    void conditionalBalanceWithEveryLayerRankedIsStyleAlignedAndFewerLayersDiffer() throws Exception {
        var names = dev.diffuse4j.model.unet.UNetLayers.of(dev.diffuse4j.model.unet.UNetConfig.TINY_SDXL, 8, 8).stream()
                .filter(dev.diffuse4j.model.attention.LayerInfo::isSelf).map(l -> "\"" + l.name() + ".processor\"").toList();
        String scores = names.stream().map(n -> String.valueOf(names.indexOf(n) * 0.1)).collect(java.util.stream.Collectors.joining(","));
        Path ranking = tmp.resolve("ranking.json");
        Files.writeString(ranking, "{\"layer_names\":[" + String.join(",", names) + "],\"stats\":{\"500\":{\"q\":[" + scores + "],\"k\":[" + scores + "]}}}");
        String[] common = {"--fake-weights", "tiny-sdxl", "--steps", "2", "--size", "64", "--prompt", "a cat", "--prompt", "a dog", "--style", "ink"};
        Path all = tmp.resolve("all"), cbAll = tmp.resolve("cb-all"), cbOne = tmp.resolve("cb-one");
        assertEquals(0, run(GenerateCommandTest.concat(new String[]{"style-aligned", "--out", all.toString()}, common)).exit());
        assertEquals(0, run(GenerateCommandTest.concat(new String[]{"style-aligned", "--rankings", ranking.toString(), "--lambda-s", "1.0",
                "--out", cbAll.toString()}, common)).exit());
        GenerateCommandTest.Run one = run(GenerateCommandTest.concat(new String[]{"style-aligned", "--rankings", ranking.toString(), "--lambda-s", "1.5",
                "--out", cbOne.toString()}, common));
        assertEquals(0, one.exit(), one.err());
        RgbImage a = Images.read(all.resolve("0002.png")), b = Images.read(cbAll.resolve("0002.png")), c = Images.read(cbOne.resolve("0002.png"));
        assertArrayEquals(a.rgb(), b.rgb(), "lambda_S = 1 shares in every layer: StyleAligned");
        assertTrue(meanAbsDiff(a, c) > 0, "sharing in one layer only is another image");
    }

    @Test
    void imagePromptVariationAndItsRefusals() throws Exception {
        Path refPng = tmp.resolve("cat.png"), dir = tmp.resolve("ip");
        String[] common = {"--fake-weights", "tiny-sd15", "--steps", "4", "--size", "64"};
        assertEquals(0, run(GenerateCommandTest.concat(new String[]{"generate", "--prompt", "a cat", "--out", refPng.toString()}, common)).exit());
        GenerateCommandTest.Run r = run(GenerateCommandTest.concat(new String[]{"image-prompt", "--image", refPng.toString(), "--prompt", "a cat",
                "-n", "2", "--stratified-steps", "2", "--out", dir.toString()}, common));
        assertEquals(0, r.exit(), r.err());
        for (String f : new String[]{"0001.png", "0002.png", "0003.png"}) assertTrue(Files.exists(dir.resolve(f)), f);
        assertTrue(Png.readText(Files.readAllBytes(dir.resolve("0002.png"))).get("parameters").contains("InDetail-IP: variation"));
        assertRefused(run(GenerateCommandTest.concat(new String[]{"image-prompt", "--image", refPng.toString(), "--prompt", "x",
                "--mode", "structure", "--out", tmp.resolve("s").toString()}, common)), "ControlNet");
        assertRefused(run(GenerateCommandTest.concat(new String[]{"image-prompt", "--image", tmp.resolve("none.png").toString(), "--prompt", "x",
                "--out", tmp.resolve("s").toString()}, common)), "does not exist");
    }

    @Test
    void styleAlignedNeedsTwoPrompts() {
        assertRefused(run("style-aligned", "--fake-weights", "tiny-sd15", "--prompt", "only", "--out", tmp.resolve("x").toString()), "at least twice");
        assertRefused(run("style-aligned", "--fake-weights", "tiny-sd15", "--prompt", "a", "--prompt", "b", "--layers", "side",
                "--out", tmp.resolve("x").toString()), "--layers");
    }

    static double meanAbsDiff(RgbImage a, RgbImage b) {
        double s = 0;
        for (int i = 0; i < a.rgb().length; i++) s += Math.abs((a.rgb()[i] & 0xFF) - (b.rgb()[i] & 0xFF));
        return s / a.rgb().length;
    }
}
