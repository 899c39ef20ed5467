package dev.diffuse4j.weights;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SingleFileCheckpointTest {
    @TempDir
    Path dir;

    @Test
    void sd15ComponentsKeepTheirFullKeys() {
        Path file = Fixtures.write(dir.resolve("sd15.safetensors"), Fixtures.sd15(), null, Map.of(
                "model_ema.decay", Tensor.of(new float[]{0.999f}),
                "alphas_cumprod", Tensor.of(new float[]{0.9f, 0.8f}, 2),
                "mystery.tensor", Tensor.of(new float[]{1, 2, 3}, 3)));
        try (SingleFileCheckpoint c = SingleFileCheckpoint.open(file); DeterministicWeights rule = new DeterministicWeights(Fixtures.sd15())) {
            assertEquals(ModelFamily.SD15, c.family().family(), c.family().toString());
            assertTrue(c.family().evidence().contains("768"), c.family().evidence());
            assertEquals(EnumSet.of(Component.UNET, Component.VAE, Component.TEXT_ENCODER), c.components());
            assertEquals("cond_stage_model.transformer.", c.prefix(Component.TEXT_ENCODER));
            assertEquals(List.of("mystery.tensor"), c.unknownKeys());
            assertEquals(Set.of("model_ema.decay", "alphas_cumprod"), Set.copyOf(c.ignoredKeys()));

            TensorSource unet = c.weights(Component.UNET);
            assertEquals(Fixtures.ldmUnet(768, 0).size(), unet.keys().size());
            String key = "model.diffusion_model.input_blocks.0.0.weight";
            assertTrue(unet.contains(key));
            try (Tensor got = unet.tensor(key); Tensor want = rule.tensor(key)) {
                assertEquals(DType.F32, got.dtype());
                assertEquals(List.of(toList(want.toFloatArray())), List.of(toList(got.toFloatArray())));
            }
            assertThrows(WeightsException.class, () -> unet.tensor("first_stage_model.encoder.conv_in.weight"), "a component sees only its keys");
            unet.close(); // no effect on the checkpoint
            try (Tensor again = c.weights(Component.UNET).tensor(key)) {
                assertEquals(4, again.rank());
            }
            WeightsException e = assertThrows(WeightsException.class, () -> c.weights(Component.TEXT_ENCODER_2));
            assertTrue(e.getMessage().contains("conditioner.embedders.1.model.") && e.getMessage().contains(file.toString()), e.getMessage());
        }
    }

    private static List<Float> toList(float[] a) {
        List<Float> l = new ArrayList<>();
        for (float f : a) l.add(f);
        return l;
    }

    @Test
    void sdxlBaseIsRecognisedWithItsTwoTextEncoders() {
        Path file = Fixtures.write(dir.resolve("sdxl.safetensors"), Fixtures.sdxl(), DType.F16, Map.of());
        try (SingleFileCheckpoint c = SingleFileCheckpoint.open(file)) {
            assertEquals(ModelFamily.SDXL_BASE, c.family().family(), c.family().toString());
            assertTrue(c.family().evidence().contains("2048") && c.family().evidence().contains("2816"), c.family().evidence());
            assertEquals(EnumSet.allOf(Component.class), c.components());
            assertEquals("conditioner.embedders.0.transformer.", c.prefix(Component.TEXT_ENCODER));
            assertTrue(c.weights(Component.TEXT_ENCODER_2).contains("conditioner.embedders.1.model.text_projection"));
            assertEquals(DType.F16, c.weights(Component.UNET).info("model.diffusion_model.out.0.weight").dtype());
            assertTrue(c.unknownKeys().isEmpty());
        }
    }

    @Test
    void familyFromTheUnetAlone() {
        Path xl = Fixtures.write(dir.resolve("xl-unet.safetensors"), Fixtures.ldmUnet(2048, 2816));
        Path v15 = Fixtures.write(dir.resolve("15-unet.safetensors"), Fixtures.ldmUnet(768, 0));
        Path v2 = Fixtures.write(dir.resolve("2-unet.safetensors"), Fixtures.ldmUnet(1024, 0));
        Path refiner = Fixtures.write(dir.resolve("refiner-unet.safetensors"), Fixtures.ldmUnet(1280, 2560));
        try (SingleFileCheckpoint a = SingleFileCheckpoint.open(xl); SingleFileCheckpoint b = SingleFileCheckpoint.open(v15);
             SingleFileCheckpoint c = SingleFileCheckpoint.open(v2); SingleFileCheckpoint d = SingleFileCheckpoint.open(refiner)) {
            assertEquals(ModelFamily.SDXL_BASE, a.family().family());
            assertEquals(ModelFamily.SD15, b.family().family());
            assertEquals(ModelFamily.UNKNOWN, c.family().family());
            assertTrue(c.family().evidence().contains("1024"), c.family().evidence());
            assertEquals(ModelFamily.UNKNOWN, d.family().family());
            assertTrue(d.family().evidence().contains("2560"), d.family().evidence());
            assertEquals(EnumSet.of(Component.UNET), a.components());
        }
    }

    @Test
    void textEncodersAloneAndOtherFiles() {
        Path clip = Fixtures.write(dir.resolve("clip.safetensors"), Fixtures.clipL("cond_stage_model.transformer."));
        List<TensorInfo> xlText = new ArrayList<>(Fixtures.clipL("conditioner.embedders.0.transformer."));
        xlText.addAll(Fixtures.bigG());
        Path both = Fixtures.write(dir.resolve("xl-text.safetensors"), xlText);
        Path vae = Fixtures.write(dir.resolve("vae.safetensors"), Fixtures.ldmVae());
        try (SingleFileCheckpoint a = SingleFileCheckpoint.open(clip); SingleFileCheckpoint b = SingleFileCheckpoint.open(both);
             SingleFileCheckpoint c = SingleFileCheckpoint.open(vae)) {
            assertEquals(ModelFamily.SD15, a.family().family());
            assertEquals(ModelFamily.SDXL_BASE, b.family().family());
            assertEquals(ModelFamily.UNKNOWN, c.family().family());
            assertEquals(EnumSet.of(Component.VAE), c.components());
        }
    }

    @Test
    void theVaePrefixOfNewerExports() {
        Path file = Fixtures.write(dir.resolve("vae2.safetensors"), List.of(Fixtures.t("vae.encoder.conv_in.weight", 4, 3, 3, 3)));
        try (SingleFileCheckpoint c = SingleFileCheckpoint.open(file)) {
            assertEquals("vae.", c.prefix(Component.VAE));
        }
    }

    @Test
    void realGoldenWeightsAreAnSd15Unet() {
        Path golden = SharedFiles.golden("unet_tiny_sd15.weights.safetensors");
        try (SingleFileCheckpoint c = SingleFileCheckpoint.open(golden)) {
            assertEquals(EnumSet.of(Component.UNET), c.components());
            assertTrue(c.unknownKeys().isEmpty(), c.unknownKeys().toString());
            // the tiny UNet has a 32-wide context: neither family
            assertEquals(ModelFamily.UNKNOWN, c.family().family(), c.family().toString());
        }
    }
}
