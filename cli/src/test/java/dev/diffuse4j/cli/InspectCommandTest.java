package dev.diffuse4j.cli;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.weights.DeterministicWeights;
import dev.diffuse4j.weights.SafetensorsFile;
import dev.diffuse4j.weights.SafetensorsWriter;
import dev.diffuse4j.weights.TensorInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.diffuse4j.cli.GenerateCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InspectCommandTest {
    @TempDir
    Path dir;

    private static TensorInfo t(String key, int... shape) { return new TensorInfo(key, DType.F32, shape); }

    /** An SDXL-shaped single file: UNet (context 2048, label_emb 2816), VAE, both text encoders, one stray key. */
    private Path sdxlFile(DType storeAs) {
        List<TensorInfo> infos = new ArrayList<>(List.of(
                t("model.diffusion_model.input_blocks.0.0.weight", 8, 4, 3, 3),
                t("model.diffusion_model.input_blocks.0.0.bias", 8),
                t("model.diffusion_model.label_emb.0.0.weight", 4, 2816),
                t("model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight", 8, 2048),
                t("first_stage_model.decoder.conv_out.weight", 3, 4, 3, 3),
                t("conditioner.embedders.0.transformer.text_model.final_layer_norm.weight", 16),
                t("conditioner.embedders.1.model.text_projection", 16, 16),
                t("mystery.extra.weight", 5, 2)));
        Path file = dir.resolve(storeAs == null ? "sdxl-f32.safetensors" : "sdxl.safetensors");
        try (DeterministicWeights w = new DeterministicWeights(infos)) {
            SafetensorsWriter.write(file, w, storeAs, Map.of("format", "pt"));
        }
        return file;
    }

    @Test
    void singleFileReport() {
        Path file = sdxlFile(DType.F16);
        GenerateCommandTest.Run r = run("inspect", file.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("single-file checkpoint"), r.out());
        assertTrue(r.out().contains("Stable Diffusion XL base"), r.out());
        assertTrue(r.out().contains("format=pt"), r.out());
        // unet: 8*4*3*3 + 8 + 4*2816 + 8*2048 = 288 + 8 + 11264 + 16384 = 27944 parameters in 4 tensors, F16
        assertTrue(r.out().matches("(?s).*\\nunet\\s+4\\s+27,944\\s+54\\.58 KiB\\s+F16\\s+model\\.diffusion_model\\.\\*.*"), r.out());
        assertTrue(r.out().matches("(?s).*\\ntext_encoder_2\\s+1\\s+256\\s.*conditioner\\.embedders\\.1\\.model\\.\\*.*"), r.out());
        // components only (the stray key is not counted): 27944 + 108 + 16 + 256
        assertTrue(r.out().matches("(?s).*\\ntotal\\s+7\\s+28,324\\s.*"), r.out());
        assertTrue(r.out().contains("unknown keys: 1") && r.out().contains("mystery.extra.weight F16[5, 2]"), r.out());
    }

    @Test
    void originalControlNetFileIsRecognised() {
        var config = dev.diffuse4j.model.controlnet.ControlNetConfig.TINY_SD15;
        List<TensorInfo> infos = new ArrayList<>(dev.diffuse4j.model.controlnet.LdmControlNetMapping.checkpointTensors(config, "control_model."));
        long params = infos.stream().mapToLong(TensorInfo::numel).sum();
        infos.add(t("mystery.extra.weight", 5, 2));
        Path file = dir.resolve("control_tiny.safetensors");
        try (DeterministicWeights w = new DeterministicWeights(infos)) {
            SafetensorsWriter.write(file, w, null, Map.of());
        }
        GenerateCommandTest.Run r = run("inspect", file.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains(String.format(java.util.Locale.ROOT, "Stable Diffusion 1.5 ControlNet under 'control_model.*': widths [32, 64], 3-channel control images, %,d parameters", params)), r.out());
        assertTrue(r.out().contains("unknown keys: 1") && r.out().contains("mystery.extra.weight"), "only the stray key is unknown: " + r.out());
    }

    @Test
    void keysListing() {
        GenerateCommandTest.Run r = run("inspect", "--keys", sdxlFile(null).toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("  model.diffusion_model.label_emb.0.0.weight F32[4, 2816]"), r.out());
    }

    @Test
    void diffusersFolderReportWithVariantChoice() throws IOException {
        Path root = dir.resolve("pipe");
        Files.createDirectories(root.resolve("unet"));
        Files.createDirectories(root.resolve("vae"));
        Files.writeString(root.resolve("model_index.json"), "{\"_class_name\":\"StableDiffusionPipeline\",\"unet\":[\"diffusers\",\"UNet2DConditionModel\"],"
                + "\"vae\":[\"diffusers\",\"AutoencoderKL\"],\"text_encoder\":[\"transformers\",\"CLIPTextModel\"]}");
        Files.writeString(root.resolve("unet/config.json"), "{\"cross_attention_dim\":768}");
        Files.writeString(root.resolve("vae/config.json"), "{}");
        List<TensorInfo> unet = List.of(t("conv_in.weight", 8, 4, 3, 3), t("conv_in.bias", 8));
        try (DeterministicWeights w = new DeterministicWeights(unet)) {
            SafetensorsWriter.write(root.resolve("unet/diffusion_pytorch_model.safetensors"), w, Map.of());
            SafetensorsWriter.write(root.resolve("unet/diffusion_pytorch_model.fp16.safetensors"), w, DType.F16, Map.of());
        }
        try (DeterministicWeights w = new DeterministicWeights(List.of(t("decoder.conv_out.weight", 3, 4, 3, 3)))) {
            SafetensorsWriter.write(root.resolve("vae/diffusion_pytorch_model.fp16.safetensors"), w, DType.F16, Map.of());
        }
        GenerateCommandTest.Run r = run("inspect", root.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("diffusers folder") && r.out().contains("StableDiffusionPipeline"), r.out());
        assertTrue(r.out().contains("Stable Diffusion 1.5"), r.out());
        assertTrue(r.out().contains("missing     [text_encoder]"), r.out());
        assertTrue(r.out().matches("(?s).*\\nunet\\s+2\\s+296\\s+1\\.16 KiB\\s+F32\\s+unet/diffusion_pytorch_model\\.safetensors.*"), r.out());
        assertTrue(r.out().matches("(?s).*\\nvae\\s+1\\s+108\\s.*F16\\s+vae/diffusion_pytorch_model\\.fp16\\.safetensors.*"), r.out());

        GenerateCommandTest.Run fp16 = run("inspect", "--variant", "fp16", root.toString());
        assertEquals(0, fp16.exit(), fp16.err());
        assertTrue(fp16.out().matches("(?s).*\\nunet\\s+2\\s+296\\s+592 B\\s+F16\\s+unet/diffusion_pytorch_model\\.fp16\\.safetensors.*"), fp16.out());

        GenerateCommandTest.Run fp32 = run("inspect", "--variant", "FP32", root.toString());
        assertEquals(1, fp32.exit());
        assertTrue(fp32.err().contains("no vae weights for variant FP32"), fp32.err());
    }

    @Test
    void badFilesExitNonZeroWithTheCleanError() throws IOException {
        Path file = sdxlFile(null);
        byte[] bytes = Files.readAllBytes(file);
        Path cut = Files.write(dir.resolve("cut.safetensors"), java.util.Arrays.copyOf(bytes, bytes.length - 3));
        GenerateCommandTest.Run r = run("inspect", cut.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("d4j inspect: " + cut), r.err());
        assertTrue(r.err().contains("rule:") && !r.err().contains("\tat "), "a message, not a stack trace: " + r.err());
        assertEquals("", r.out());

        Path ckpt = Files.write(dir.resolve("model.ckpt"), new byte[]{'P', 'K', 3, 4, 0, 0, 0, 0, 0});
        GenerateCommandTest.Run p = run("inspect", ckpt.toString());
        assertEquals(1, p.exit());
        assertTrue(p.err().contains("pickle") && p.err().contains("save_file"), p.err());

        GenerateCommandTest.Run missing = run("inspect", dir.resolve("nothing-here").toString());
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("no such file or folder"), missing.err());

        GenerateCommandTest.Run badVariant = run("inspect", "--variant", "fp8", file.toString());
        assertEquals(2, badVariant.exit(), "usage errors are picocli's exit code 2");
        assertTrue(badVariant.err().contains("fp8"), badVariant.err());
        try (SafetensorsFile f = SafetensorsFile.open(file); Tensor x = f.tensor("mystery.extra.weight")) {
            assertEquals(10, x.numel(), "the file inspected is intact");
        }
    }
}
