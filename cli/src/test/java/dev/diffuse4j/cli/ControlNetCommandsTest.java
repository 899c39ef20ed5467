package dev.diffuse4j.cli;

import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.unet.UNetLayers;
import dev.diffuse4j.pipelines.image.Images;
import dev.diffuse4j.pipelines.image.Png;
import dev.diffuse4j.pipelines.image.RgbImage;
import dev.diffuse4j.schedulers.Samplers;
import dev.diffuse4j.schedulers.Scheduler;
import dev.diffuse4j.schedulers.SchedulerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

import static dev.diffuse4j.cli.GenerateCommandTest.assertRefused;
import static dev.diffuse4j.cli.GenerateCommandTest.concat;
import static dev.diffuse4j.cli.GenerateCommandTest.run;
import static dev.diffuse4j.cli.MethodCommandsTest.meanAbsDiff;
import static org.junit.jupiter.api.Assertions.*;

/** generate --controlnet, image-prompt --mode structure and balance end to end on the tiny fake models. */
class ControlNetCommandsTest {
    @TempDir
    Path tmp;

    /** A vertical-stripes "edge map" of another size than the output (it gets resized). */
    Path controlImage() throws Exception { return writeControlImage(tmp); }

    static Path writeControlImage(Path dir) throws Exception {
        int w = 40, h = 24;
        byte[] px = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) Arrays.fill(px, (y * w + x) * 3, (y * w + x) * 3 + 3, (byte) ((x / 5) % 2 == 0 ? 255 : 0));
        Path p = dir.resolve("edges.png");
        Png.write(p, new RgbImage(w, h, px), java.util.Map.of());
        return p;
    }

    @Test
    void generateWithAControlNetFollowsItAndScaleZeroIsPlainGeneration() throws Exception {
        String[] common = {"generate", "--fake-weights", "tiny-sd15", "--prompt", "a fox", "--steps", "3", "--size", "64", "--seed", "5"};
        Path plain = tmp.resolve("plain.png"), steered = tmp.resolve("steered.png"), zero = tmp.resolve("zero.png");
        assertEquals(0, run(concat(common, "--out", plain.toString())).exit());
        GenerateCommandTest.Run r = run(concat(common, "--controlnet", "fake", "--control", controlImage().toString(), "--control-scale", "0.8",
                "--out", steered.toString()));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("loaded ControlNet fake (Stable Diffusion 1.5)"), r.err());
        assertTrue(Png.readText(Files.readAllBytes(steered)).get("parameters").contains("ControlNet: scale 0.8"));
        assertTrue(meanAbsDiff(Images.read(plain), Images.read(steered)) > 0.5, "the ControlNet changes the image");
        assertEquals(0, run(concat(common, "--controlnet", "fake", "--control", controlImage().toString(), "--control-scale", "0",
                "--out", zero.toString())).exit());
        assertArrayEquals(Images.read(plain).rgb(), Images.read(zero).rgb(), "scale 0 adds zero residuals");
    }

    @Test
    void aHubControlNetDownloadsItsConfigAndOneWeightsFile() {
        var files = java.util.List.of("README.md", "config.json", "diffusion_pytorch_model.bin", "diffusion_pytorch_model.safetensors",
                "diffusion_pytorch_model.fp16.safetensors", "images/control.png");
        assertEquals(java.util.Set.of("config.json", "diffusion_pytorch_model.safetensors"), ControlOptions.hubFiles(files, false));
        assertEquals(java.util.Set.of("config.json", "diffusion_pytorch_model.fp16.safetensors"), ControlOptions.hubFiles(files, true));
        assertEquals(java.util.Set.of("config.json", "diffusion_pytorch_model.fp16.safetensors"),
                ControlOptions.hubFiles(java.util.List.of("config.json", "diffusion_pytorch_model.fp16.safetensors"), false));
        var e = assertThrows(IllegalArgumentException.class, () -> ControlOptions.hubFiles(java.util.List.of("config.json", "diffusion_pytorch_model.bin"), false));
        assertTrue(e.getMessage().contains("diffusion_pytorch_model"), e.getMessage());
    }

    @Test
    void generateRefusesHalfAControlNetSetup() throws Exception {
        String[] common = {"generate", "--fake-weights", "tiny-sd15", "--prompt", "a fox", "--steps", "1", "--size", "64", "--out", tmp.resolve("x.png").toString()};
        assertRefused(run(concat(common, "--control", controlImage().toString())), "--control IMAGE needs --controlnet MODEL");
        assertRefused(run(concat(common, "--controlnet", "fake")), "--controlnet MODEL needs --control IMAGE");
        assertRefused(run(concat(common, "--controlnet", tmp.resolve("missing").toString(), "--control", controlImage().toString())), "no such file");
    }

    @Test
    void imagePromptStructureModeRuns() throws Exception {
        Path refPng = tmp.resolve("cat.png"), dir = tmp.resolve("ip");
        String[] common = {"--fake-weights", "tiny-sd15", "--steps", "4", "--size", "64"};
        assertEquals(0, run(concat(new String[]{"generate", "--prompt", "a cat", "--out", refPng.toString()}, common)).exit());
        GenerateCommandTest.Run r = run(concat(new String[]{"image-prompt", "--image", refPng.toString(), "--prompt", "a cat", "--mode", "structure",
                "--controlnet", "fake", "--control", controlImage().toString(), "-n", "2", "--out", dir.toString()}, common));
        assertEquals(0, r.exit(), r.err());
        String params = Png.readText(Files.readAllBytes(dir.resolve("0002.png"))).get("parameters");
        assertTrue(params.contains("InDetail-IP: structure") && params.contains("stratified steps 25") && params.contains("CFG scale: 5.0")
                && params.contains("ControlNet"), params);
        assertTrue(Files.exists(dir.resolve("0003.png")));
        assertRefused(run(concat(new String[]{"image-prompt", "--image", refPng.toString(), "--prompt", "x", "--mode", "structure",
                "--out", tmp.resolve("s").toString()}, common)), "--controlnet MODEL and --control IMAGE");
        assertRefused(run(concat(new String[]{"image-prompt", "--image", refPng.toString(), "--prompt", "x", "--controlnet", "fake",
                "--control", controlImage().toString(), "--out", tmp.resolve("s").toString()}, common)), "for --mode structure");
    }

    Path ranking() throws Exception {
        var names = UNetLayers.of(UNetConfig.TINY_SDXL, 8, 8).stream().filter(LayerInfo::isSelf).map(l -> "\"" + l.name() + ".processor\"").toList();
        String scores = names.stream().map(n -> String.valueOf(names.indexOf(n) * 0.1)).collect(Collectors.joining(","));
        Path ranking = tmp.resolve("ranking.json");
        Files.writeString(ranking, "{\"layer_names\":[" + String.join(",", names) + "],\"stats\":{\"500\":{\"q\":[" + scores + "],\"k\":[" + scores + "]}}}");
        return ranking;
    }

    @Test
    void balanceKeepsStructureForTheStepsAboveLambdaTAndLeavesTheReferenceAlone() throws Exception {
        int steps = 5;
        String[] common = {"balance", "--fake-weights", "tiny-sdxl", "--steps", String.valueOf(steps), "--size", "64", "--prompt", "a watercolor painting",
                "--prompt", "a fox", "--prompt", "a cat", "--style", "by Sargent", "--rankings", ranking().toString(), "--lambda-s", "0.5"};
        Path text = tmp.resolve("text"), cb = tmp.resolve("cb");
        GenerateCommandTest.Run r0 = run(concat(common, "--out", text.toString()));
        assertEquals(0, r0.exit(), r0.err());
        GenerateCommandTest.Run r = run(concat(common, "--controlnet", "fake", "--control", controlImage().toString(), "--lambda-t", "0.5",
                "--out", cb.toString()));
        assertEquals(0, r.exit(), r.err());

        Scheduler s = Samplers.create("ddim", SchedulerConfig.stableDiffusionXl());
        s.setTimesteps(steps);
        int above = 0;
        for (int i = 0; i < steps; i++) if (s.timestep(i) >= 500) above++;
        assertTrue(above > 0 && above < steps);
        assertTrue(r.err().contains("ControlNet structure at " + above + " steps, mid residual only at " + (steps - above)), r.err());
        assertArrayEquals(Images.read(text.resolve("0001.png")).rgb(), Images.read(cb.resolve("0001.png")).rgb(),
                "the reference rows get zero residuals");
        assertTrue(meanAbsDiff(Images.read(text.resolve("0002.png")), Images.read(cb.resolve("0002.png"))) > 0.5, "targets follow the ControlNet");
        String params = Png.readText(Files.readAllBytes(cb.resolve("0003.png"))).get("parameters");
        assertTrue(params.startsWith("a cat, by Sargent\n") && params.contains("lambda_S 0.5") && params.contains("lambda_T 0.5"), params);
    }

    @Test
    void sharedTargetNoiseMakesTargetsWithTheSamePromptIdentical() throws Exception {
        String[] common = {"balance", "--fake-weights", "tiny-sdxl", "--steps", "3", "--size", "64", "--prompt", "a watercolor painting",
                "--prompt", "a fox", "--prompt", "a fox", "--style", "by Sargent", "--rankings", ranking().toString(), "--lambda-s", "0.5"};
        Path own = tmp.resolve("own"), shared = tmp.resolve("shared");
        assertEquals(0, run(concat(common, "--out", own.toString())).exit());
        GenerateCommandTest.Run r = run(concat(common, "--shared-target-noise", "--out", shared.toString()));
        assertEquals(0, r.exit(), r.err());
        assertTrue(meanAbsDiff(Images.read(own.resolve("0002.png")), Images.read(own.resolve("0003.png"))) > 0.5, "own noise: different images");
        assertArrayEquals(Images.read(shared.resolve("0002.png")).rgb(), Images.read(shared.resolve("0003.png")).rgb(),
                "same noise, same prompt, same reference: the same image");
        assertArrayEquals(Images.read(own.resolve("0002.png")).rgb(), Images.read(shared.resolve("0002.png")).rgb(),
                "the first target keeps its own noise");
        assertArrayEquals(Images.read(own.resolve("0001.png")).rgb(), Images.read(shared.resolve("0001.png")).rgb(),
                "the reference keeps its own noise");
    }

    @Test
    void balanceRefusesMissingPieces() throws Exception {
        String out = tmp.resolve("x").toString();
        assertRefused(run("balance", "--fake-weights", "tiny-sdxl", "--prompt", "a", "--prompt", "b", "--out", out), "--rankings");
        assertRefused(run("balance", "--fake-weights", "tiny-sdxl", "--prompt", "a", "--prompt", "b", "--rankings", tmp.resolve("none.json").toString(),
                "--out", out), "does not exist");
        assertRefused(run("balance", "--fake-weights", "tiny-sdxl", "--prompt", "a", "--prompt", "b", "--rankings", ranking().toString(),
                "--control", controlImage().toString(), "--out", out), "needs --controlnet");
        assertRefused(run("balance", "--fake-weights", "tiny-sdxl", "--prompt", "a", "--rankings", ranking().toString(), "--out", out), "at least twice");
        assertRefused(run("balance", "--fake-weights", "tiny-sd15", "--prompt", "a", "--prompt", "b", "--rankings", ranking().toString(),
                "--steps", "1", "--size", "64", "--out", out), "another model");
    }
}
