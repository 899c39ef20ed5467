package dev.diffuse4j.cli;

import dev.diffuse4j.attention.LayerRanking;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.unet.UNetLayers;
import dev.diffuse4j.pipelines.image.Images;
import dev.diffuse4j.pipelines.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.diffuse4j.cli.GenerateCommandTest.assertRefused;
import static dev.diffuse4j.cli.GenerateCommandTest.concat;
import static dev.diffuse4j.cli.GenerateCommandTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** d4j analyze-layers and style-aligned --shared-norm end to end on the tiny fake model. */
class AnalyzeLayersCommandTest {
    @TempDir
    Path tmp;

    @Test
    void analyzeLayersWritesARankingThatStyleAlignedAccepts() throws Exception {
        Path ranking = tmp.resolve("x.json"), images = tmp.resolve("images");
        GenerateCommandTest.Run r = run("analyze-layers", "--fake-weights", "tiny-sd15", "--steps", "3", "--size", "64", "--seed", "1",
                "--styles", "2", "--samples", "2", "--images", images.toString(), "--out", ranking.toString());
        assertEquals(0, r.exit(), r.err());
        LayerRanking read = LayerRanking.read(ranking);
        List<String> self = UNetLayers.of(UNetConfig.TINY_SD15, 8, 8).stream().filter(LayerInfo::isSelf).map(LayerInfo::name).toList();
        assertEquals(self, read.layerNames(), "every self-attention layer, in processor order");
        assertEquals(3, read.timesteps().size(), "one score set per sampling step");
        for (int t : read.timesteps()) {
            LayerRanking.Scores s = read.at(t);
            for (double[] xs : new double[][]{s.q(), s.k(), s.v()})
                for (double x : xs) assertTrue(Double.isFinite(x) && x >= 0, "score " + x + " at t=" + t);
        }
        assertTrue(Files.exists(images.resolve("s0-01-1-target.png")), "images of the last style and sample");

        // with 2 samples per style the authors' window (style * 2) is the right one: the same ranking
        Path published = tmp.resolve("published.json");
        r = run("analyze-layers", "--fake-weights", "tiny-sd15", "--steps", "3", "--size", "64", "--seed", "1",
                "--styles", "2", "--samples", "2", "--published-window", "--out", published.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals(Files.readString(ranking), Files.readString(published));

        Path set = tmp.resolve("cb");
        r = run("style-aligned", "--fake-weights", "tiny-sd15", "--steps", "3", "--size", "64", "--prompt", "a cat", "--prompt", "a dog",
                "--rankings", ranking.toString(), "--lambda-s", "0.5", "--out", set.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.exists(set.resolve("0002.png")));

        assertRefused(run("analyze-layers", "--fake-weights", "tiny-sd15", "--samples", "1", "--out", tmp.resolve("y.json").toString()), "at least 2 samples");
        assertRefused(run("analyze-layers", "--fake-weights", "tiny-sd15", "--styles", "11", "--out", tmp.resolve("y.json").toString()), "--styles");
    }

    @Test
    void controlNetFixesTheTargetsStructureOnly() throws Exception {
        String[] common = {"analyze-layers", "--fake-weights", "tiny-sd15", "--steps", "2", "--size", "64", "--seed", "3",
                "--styles", "2", "--samples", "2"};
        String edges = ControlNetCommandsTest.writeControlImage(tmp).toString();
        Path text = tmp.resolve("text.json"), zero = tmp.resolve("zero.json"), controlled = tmp.resolve("controlled.json");
        Path textImages = tmp.resolve("text"), controlledImages = tmp.resolve("controlled");
        assertEquals(0, run(concat(common, "--images", textImages.toString(), "--out", text.toString())).exit());
        GenerateCommandTest.Run r = run(concat(common, "--controlnet", "fake", "--control", edges, "--control-scale", "0", "--out", zero.toString()));
        assertEquals(0, r.exit(), r.err());
        assertEquals(Files.readString(text), Files.readString(zero), "zero conditioning scale: the text-only statistics, bit for bit");
        r = run(concat(common, "--controlnet", "fake", "--control", edges, "--images", controlledImages.toString(), "--out", controlled.toString()));
        assertEquals(0, r.exit(), r.err());
        assertNotEquals(Files.readString(text), Files.readString(controlled), "the ControlNet changes the targets' statistics");
        assertEquals(0.0, MethodCommandsTest.meanAbsDiff(Images.read(textImages.resolve("s0-01-1-ref.png")),
                Images.read(controlledImages.resolve("s0-01-1-ref.png"))), "reference rows get no residuals: the same pixels");
        assertTrue(MethodCommandsTest.meanAbsDiff(Images.read(textImages.resolve("s0-01-1-target.png")),
                Images.read(controlledImages.resolve("s0-01-1-target.png"))) > 0.5, "the targets follow the control image");
        assertRefused(run(concat(common, "--control", edges, "--out", tmp.resolve("y.json").toString())), "--controlnet");
    }

    @Test
    void sharedNormKeepsTheReferenceAndChangesTheTargets() throws Exception {
        String[] common = {"style-aligned", "--fake-weights", "tiny-sd15", "--steps", "3", "--size", "64", "--seed", "4",
                "--prompt", "a cat", "--prompt", "a dog", "--style", "ink"};
        Path plain = tmp.resolve("plain"), shared = tmp.resolve("shared");
        assertEquals(0, run(concat(common, "--out", plain.toString())).exit());
        GenerateCommandTest.Run r = run(concat(common, "--shared-norm", "--out", shared.toString()));
        assertEquals(0, r.exit(), r.err());
        RgbImage refPlain = Images.read(plain.resolve("0001.png")), refShared = Images.read(shared.resolve("0001.png"));
        RgbImage targetPlain = Images.read(plain.resolve("0002.png")), targetShared = Images.read(shared.resolve("0002.png"));
        assertTrue(MethodCommandsTest.meanAbsDiff(refPlain, refShared) < 0.5, "reference unchanged: " + MethodCommandsTest.meanAbsDiff(refPlain, refShared));
        assertTrue(MethodCommandsTest.meanAbsDiff(targetPlain, targetShared) > 0.5, "targets change: " + MethodCommandsTest.meanAbsDiff(targetPlain, targetShared));
    }
}
