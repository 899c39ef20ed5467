package dev.diffuse4j.pipelines;

import dev.diffuse4j.pipelines.image.Png;
import dev.diffuse4j.pipelines.image.RgbImage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Whole pipelines on tiny checkpoints the test writes itself, in both file layouts. */
class EndToEndTest {
    @TempDir
    static Path tmp;

    static Path diffusers, diffusersFp16, single, tokenizer;

    @BeforeAll
    static void writeCheckpoints() throws IOException {
        diffusers = tmp.resolve("tiny-diffusers");
        TinyCheckpoints.writeDiffusers(diffusers, false);
        diffusersFp16 = tmp.resolve("tiny-diffusers-fp16");
        TinyCheckpoints.writeDiffusers(diffusersFp16, true);
        single = tmp.resolve("tiny-single.safetensors");
        tokenizer = tmp.resolve("single-tokenizer");
        TinyCheckpoints.writeSingleFile(single, tokenizer);
    }

    static GenerationRequest request(long seed) {
        return GenerationRequest.builder("the red fox").negativePrompt("blurry").steps(3).seed(seed).size(64, 48).build();
    }

    static byte[] png(StableDiffusion sd, GenerationRequest r) throws IOException {
        GenerationResult res = new StableDiffusionPipeline(sd).generate(r, StepListener.NONE);
        assertEquals(r.images(), res.images().size());
        return Png.encode(res.images().get(0), Map.of("parameters", res.parameters()));
    }

    @Test
    void diffusersFolderSameSeedSameBytesOtherSeedOtherImage() throws IOException {
        try (StableDiffusion sd = ModelLoader.load(diffusers.toString(), ModelLoader.Options.defaults())) {
            byte[] a = png(sd, request(7)), b = png(sd, request(7)), c = png(sd, request(8));
            assertArrayEquals(a, b, "same seed, same PNG bytes");
            assertFalse(Arrays.equals(a, c), "another seed gives another image");
            RgbImage img = new StableDiffusionPipeline(sd).generate(request(7), StepListener.NONE).images().get(0);
            assertEquals(64, img.width());
            assertEquals(48, img.height());
            assertTrue(distinctValues(img) > 16, "not a flat image");
        }
    }

    @Test
    void reloadingGivesTheSameImageAndFp16WeightsAreClose() throws IOException {
        byte[] first;
        try (StableDiffusion sd = ModelLoader.load(diffusers.toString(), ModelLoader.Options.defaults())) {
            first = png(sd, request(3));
        }
        try (StableDiffusion sd = ModelLoader.load(diffusers.toString(), ModelLoader.Options.defaults())) {
            assertArrayEquals(first, png(sd, request(3)), "a fresh load reproduces the image");
        }
        try (StableDiffusion sd = ModelLoader.load(diffusersFp16.toString(), ModelLoader.Options.defaults().withFp16(true))) {
            RgbImage half = new StableDiffusionPipeline(sd).generate(request(3), StepListener.NONE).images().get(0);
            try (StableDiffusion full = ModelLoader.load(diffusers.toString(), ModelLoader.Options.defaults())) {
                RgbImage ref = new StableDiffusionPipeline(full).generate(request(3), StepListener.NONE).images().get(0);
                assertTrue(meanAbsDiff(half, ref) < 3.0, "F16-stored weights give nearly the F32 image: " + meanAbsDiff(half, ref));
            }
        }
    }

    @Test
    void singleFileCheckpointWithATokenizerFolder() throws IOException {
        var opts = ModelLoader.Options.defaults().withTokenizerDir(tokenizer);
        try (StableDiffusion sd = ModelLoader.load(single.toString(), opts)) {
            assertEquals(dev.diffuse4j.weights.ModelFamily.SD15, sd.family());
            byte[] a = png(sd, request(11)), b = png(sd, request(11));
            assertArrayEquals(a, b);
        }
    }

    @Test
    void batchImageToImageAndTruncationWarning() throws IOException {
        try (StableDiffusion sd = ModelLoader.load(diffusers.toString(), ModelLoader.Options.defaults())) {
            StableDiffusionPipeline p = new StableDiffusionPipeline(sd);
            GenerationResult batch = p.generate(request(5).toBuilder().images(2).build(), StepListener.NONE);
            assertEquals(2, batch.images().size());
            assertFalse(Arrays.equals(batch.images().get(0).rgb(), batch.images().get(1).rgb()), "each image has its own noise");

            RgbImage init = batch.images().get(0);
            GenerationResult i2i = p.generate(request(5).toBuilder().steps(4).initImage(init, 0.5).build(), StepListener.NONE);
            assertEquals(1, i2i.images().size());
            assertTrue(i2i.parameters().contains("Denoising strength: 0.5"), i2i.parameters());

            List<String> warnings = new ArrayList<>();
            StepListener l = new StepListener() {
                @Override public void onWarning(String m) { warnings.add(m); }
            };
            p.generate(GenerationRequest.builder("the ".repeat(90)).steps(1).size(64, 64).build(), l);
            assertTrue(warnings.stream().anyMatch(w -> w.contains("15 token(s) were dropped")), warnings.toString());
        }
    }

    @Test
    void fakeSdxlRunsTheXlPath() {
        try (StableDiffusion sd = FakeModels.load("tiny-sdxl", dev.diffuse4j.runtime.Device.CPU)) {
            assertTrue(sd.isXl());
            GenerationResult r = new StableDiffusionPipeline(sd).generate(
                    GenerationRequest.builder("a cat").steps(2).size(64, 64).sampler("euler").build(), StepListener.NONE);
            assertEquals(1, r.images().size());
            assertTrue(r.parameters().contains("CFG scale: 5.0"), "SDXL default guidance: " + r.parameters());
            GenerationRequest same = GenerationRequest.builder("a cat").steps(2).size(64, 64).sampler("euler").sdxlSizes(64, 64, 0, 0, 64, 64).build();
            GenerationRequest cropped = same.toBuilder().sdxlSizes(128, 128, 32, 32, 64, 64).build();
            var p = new StableDiffusionPipeline(sd);
            assertArrayEquals(r.images().get(0).rgb(), p.generate(same, StepListener.NONE).images().get(0).rgb(),
                    "explicit default sizes are the defaults");
            assertFalse(Arrays.equals(r.images().get(0).rgb(), p.generate(cropped, StepListener.NONE).images().get(0).rgb()),
                    "size/crop conditioning reaches the UNet");
        }
    }

    @Test
    void badRequestsAreRefusedClearly() throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GenerationRequest.builder("x").size(60, 64).build());
        assertTrue(e.getMessage().contains("multiple of 8"), e.getMessage());
        Path missing = tmp.resolve("nope");
        IOException io = assertThrows(IOException.class, () -> ModelLoader.load(missing.toString(), ModelLoader.Options.defaults()));
        assertTrue(io.getMessage().contains("neither an existing path"), io.getMessage());
        Path pickle = tmp.resolve("model.ckpt");
        Files.write(pickle, new byte[]{(byte) 0x80, 2, 'c'});
        Exception p = assertThrows(Exception.class, () -> ModelLoader.load(pickle.toString(), ModelLoader.Options.defaults()));
        assertTrue(p.getMessage().toLowerCase().contains("pickle"), p.getMessage());
    }

    static int distinctValues(RgbImage img) {
        return (int) java.util.stream.IntStream.range(0, img.rgb().length).map(i -> img.rgb()[i] & 0xFF).distinct().count();
    }

    static double meanAbsDiff(RgbImage a, RgbImage b) {
        double s = 0;
        for (int i = 0; i < a.rgb().length; i++) s += Math.abs((a.rgb()[i] & 0xFF) - (b.rgb()[i] & 0xFF));
        return s / a.rgb().length;
    }
}
