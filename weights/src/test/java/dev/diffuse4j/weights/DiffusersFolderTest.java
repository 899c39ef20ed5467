package dev.diffuse4j.weights;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DiffusersFolderTest {
    @TempDir
    Path dir;

    @Test
    void sd15FolderWithConfigsAndDiffusersKeys() {
        Path root = Fixtures.diffusersFolder(dir.resolve("sd15"), false, true, false);
        try (DiffusersFolder f = DiffusersFolder.open(root); DeterministicWeights rule = new DeterministicWeights(Fixtures.diffusersUnet())) {
            assertEquals("StableDiffusionPipeline", f.pipelineClass());
            assertEquals(ModelFamily.SD15, f.family().family(), f.family().toString());
            assertEquals(EnumSet.of(Component.UNET, Component.VAE, Component.TEXT_ENCODER), f.components());
            assertEquals(List.of("unet", "vae", "text_encoder", "tokenizer", "scheduler"), f.listedComponents(), "safety_checker [null, null] is not listed");
            assertEquals(768, f.config(Component.UNET).get("cross_attention_dim").intValue());
            assertEquals(1000, f.config("scheduler").get("num_train_timesteps").intValue());
            assertEquals(77, f.config("tokenizer").get("model_max_length").intValue());
            assertEquals(0.18215, f.config(Component.VAE).get("scaling_factor").doubleValue());

            TensorSource unet = f.weights(Component.UNET);
            assertTrue(unet.contains("conv_in.weight"));
            try (Tensor got = unet.tensor("conv_in.weight"); Tensor want = rule.tensor("conv_in.weight")) {
                assertArrayEquals(want.toFloatArray(), got.toFloatArray());
            }
            assertEquals(List.of(root.resolve("unet/diffusion_pytorch_model.safetensors")), f.weightFiles(Component.UNET));
            assertEquals(List.of(root.resolve("text_encoder/model.safetensors")), f.weightFiles(Component.TEXT_ENCODER));
            unet.close(); // handed-out sources do not close the folder's file
            assertEquals(DType.F32, f.weights(Component.UNET).info("conv_in.weight").dtype());
        }
    }

    @Test
    void sdxlAndOtherUnetsFromConfig() {
        Path xl = Fixtures.diffusersFolder(dir.resolve("xl"), true, true, false);
        try (DiffusersFolder f = DiffusersFolder.open(xl)) {
            assertEquals(ModelFamily.SDXL_BASE, f.family().family(), f.family().toString());
            assertEquals(EnumSet.allOf(Component.class), f.components());
        }
        Fixtures.text(xl.resolve("unet/config.json"), "{\"cross_attention_dim\":1280,\"addition_embed_type\":\"text_time\",\"projection_class_embeddings_input_dim\":2560}");
        try (DiffusersFolder f = DiffusersFolder.open(xl)) {
            assertEquals(ModelFamily.UNKNOWN, f.family().family());
            assertTrue(f.family().evidence().contains("1280") && f.family().evidence().contains("2560"), f.family().evidence());
        }
        Fixtures.text(xl.resolve("unet/config.json"), "{\"cross_attention_dim\":1024}");
        try (DiffusersFolder f = DiffusersFolder.open(xl)) {
            assertEquals(ModelFamily.UNKNOWN, f.family().family());
        }
    }

    @Test
    void variantChoice() {
        Path both = Fixtures.diffusersFolder(dir.resolve("both"), false, true, true);
        for (DiffusersFolder.Variant v : DiffusersFolder.Variant.values()) {
            DType want = v == DiffusersFolder.Variant.FP16 || v == DiffusersFolder.Variant.PREFER_FP16 ? DType.F16 : DType.F32;
            try (DiffusersFolder f = DiffusersFolder.open(both, v)) {
                for (Component c : f.components())
                    assertEquals(want, f.weights(c).info(f.weights(c).keys().iterator().next()).dtype(), v + " " + c);
            }
        }
        Path only32 = Fixtures.diffusersFolder(dir.resolve("only32"), false, true, false);
        try (DiffusersFolder f = DiffusersFolder.open(only32, DiffusersFolder.Variant.PREFER_FP16)) {
            assertEquals(DType.F32, f.weights(Component.VAE).info("encoder.conv_in.weight").dtype(), "falls back to full precision");
        }
        try (DiffusersFolder f = DiffusersFolder.open(only32, DiffusersFolder.Variant.FP16)) {
            WeightsException e = assertThrows(WeightsException.class, () -> f.weights(Component.UNET));
            assertTrue(e.getMessage().contains("diffusion_pytorch_model.fp16.safetensors")
                    && e.getMessage().contains("diffusion_pytorch_model.safetensors]") && e.getMessage().contains("FP16"), e.getMessage());
        }
        Path only16 = Fixtures.diffusersFolder(dir.resolve("only16"), false, false, true);
        try (DiffusersFolder f = DiffusersFolder.open(only16)) {
            assertEquals(DType.F16, f.weights(Component.TEXT_ENCODER).info("text_model.final_layer_norm.weight").dtype(), "default falls back to fp16");
        }
        try (DiffusersFolder f = DiffusersFolder.open(only16, DiffusersFolder.Variant.FP32)) {
            assertThrows(WeightsException.class, () -> f.weights(Component.TEXT_ENCODER));
        }
    }

    @Test
    void shardedComponents() {
        Path root = Fixtures.diffusersFolder(dir.resolve("sharded"), false, true, true);
        Path index = Fixtures.shard(root.resolve("unet/diffusion_pytorch_model.safetensors"), "");
        Path index16 = Fixtures.shard(root.resolve("unet/diffusion_pytorch_model.fp16.safetensors"), "fp16");
        assertEquals("diffusion_pytorch_model.safetensors.index.fp16.json", index16.getFileName().toString());
        try (DiffusersFolder f = DiffusersFolder.open(root, DiffusersFolder.Variant.FP32);
             DeterministicWeights rule = new DeterministicWeights(Fixtures.diffusersUnet())) {
            TensorSource unet = f.weights(Component.UNET);
            assertEquals(rule.keys(), new java.util.HashSet<>(unet.keys()));
            for (String k : rule.keys()) {
                try (Tensor got = unet.tensor(k); Tensor want = rule.tensor(k)) {
                    assertArrayEquals(want.toFloatArray(), got.toFloatArray(), k);
                }
            }
            assertEquals(2, f.weightFiles(Component.UNET).size());
            assertTrue(unet.describe().contains(index.toString()), unet.describe());
        }
        try (DiffusersFolder f = DiffusersFolder.open(root, DiffusersFolder.Variant.FP16)) {
            TensorSource unet = f.weights(Component.UNET);
            assertEquals(DType.F16, unet.info("conv_out.weight").dtype());
            assertTrue(f.weightFiles(Component.UNET).get(0).getFileName().toString().startsWith("diffusion_pytorch_model.fp16-00001"));
        }
    }

    @Test
    void brokenShardIndexes() throws IOException {
        Path root = Fixtures.diffusersFolder(dir.resolve("bad"), false, true, false);
        Path index = Fixtures.shard(root.resolve("unet/diffusion_pytorch_model.safetensors"), "");
        String good = Files.readString(index);
        String shard1 = "diffusion_pytorch_model-00001-of-00002.safetensors", shard2 = "diffusion_pytorch_model-00002-of-00002.safetensors";

        Files.writeString(index, good.replace(shard2, "../../../etc/passwd"));
        assertShardError(index, "plain file names");
        Files.writeString(index, good.replace(shard2, "missing.safetensors"));
        assertShardError(index, "missing.safetensors");
        // claim every tensor lives in shard 1: those in shard 2 are then not where the index says
        Files.writeString(index, good.replace(shard2, shard1));
        assertShardError(index, "but that shard has no such tensor");
        Files.writeString(index, "{\"weight_map\":{}}");
        assertShardError(index, "empty");
        Files.writeString(index, "{\"weight_map\":[1]}");
        assertShardError(index, "weight_map");
        Files.writeString(index, "{\"weight_map\":{\"conv_in.weight\":7}}");
        assertShardError(index, "conv_in.weight");

        // the same tensor in both shards
        Files.writeString(index, good);
        try (SafetensorsFile s1 = SafetensorsFile.open(index.resolveSibling(shard1)); Tensor t = s1.tensor(s1.keys().iterator().next())) {
            String k = s1.keys().iterator().next();
            Path dup = index.resolveSibling("dup.safetensors");
            SafetensorsWriter.write(dup, java.util.Map.of(k, t, "zz.extra", t)); // k is also in shard 1
            Files.writeString(index, good.substring(0, good.length() - 2) + ",\"zz.extra\":\"dup.safetensors\"}}");
        }
        assertShardError(index, "is in both");
    }

    private static void assertShardError(Path index, String fragment) {
        WeightsException e = assertThrows(WeightsException.class, () -> ShardedSafetensors.open(index).close());
        assertTrue(e.getMessage().contains(fragment) && e.getMessage().contains(index.toString()), e.getMessage());
    }

    @Test
    void missingPiecesAreNamed() throws IOException {
        Path root = Fixtures.diffusersFolder(dir.resolve("partial"), false, true, false);
        Files.walk(root.resolve("vae")).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        try (DiffusersFolder f = DiffusersFolder.open(root)) {
            assertEquals(List.of("vae"), f.missingComponents());
            assertEquals(EnumSet.of(Component.UNET, Component.TEXT_ENCODER), f.components());
            WeightsException e = assertThrows(WeightsException.class, () -> f.weights(Component.VAE));
            assertTrue(e.getMessage().contains("vae") && e.getMessage().contains("missing"), e.getMessage());
            e = assertThrows(WeightsException.class, () -> f.config("feature_extractor"));
            assertTrue(e.getMessage().contains("does not list"), e.getMessage());
        }
        Files.delete(root.resolve("text_encoder/model.safetensors"));
        Files.write(root.resolve("text_encoder/pytorch_model.bin"), new byte[]{'P', 'K', 3, 4});
        try (DiffusersFolder f = DiffusersFolder.open(root)) {
            WeightsException e = assertThrows(WeightsException.class, () -> f.weights(Component.TEXT_ENCODER));
            assertTrue(e.getMessage().contains("pickle") && e.getMessage().contains("safe_serialization=True"), e.getMessage());
        }
        Files.delete(root.resolve("model_index.json"));
        WeightsException e = assertThrows(WeightsException.class, () -> DiffusersFolder.open(root));
        assertTrue(e.getMessage().contains("model_index.json"), e.getMessage());
    }
}
