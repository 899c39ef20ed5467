package dev.diffuse4j.model.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.diffuse4j.model.goldens.SharedGoldens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClipTextConfigTest {
    /** The SD1.5 text_encoder/config.json as shipped (transformers 4.22). */
    static final String SD15_TEXT_ENCODER = """
            {"_name_or_path": "openai/clip-vit-large-patch14", "architectures": ["CLIPTextModel"],
             "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0, "eos_token_id": 2, "hidden_act": "quick_gelu",
             "hidden_size": 768, "initializer_factor": 1.0, "initializer_range": 0.02, "intermediate_size": 3072,
             "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "clip_text_model",
             "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 1, "projection_dim": 768,
             "torch_dtype": "float32", "transformers_version": "4.22.0.dev0", "vocab_size": 49408}""";

    /** The SDXL base text_encoder_2/config.json as shipped. */
    static final String SDXL_TEXT_ENCODER_2 = """
            {"architectures": ["CLIPTextModelWithProjection"], "attention_dropout": 0.0, "bos_token_id": 0,
             "dropout": 0.0, "eos_token_id": 2, "hidden_act": "gelu", "hidden_size": 1280, "initializer_factor": 1.0,
             "initializer_range": 0.02, "intermediate_size": 5120, "layer_norm_eps": 1e-05,
             "max_position_embeddings": 77, "model_type": "clip_text_model", "num_attention_heads": 20,
             "num_hidden_layers": 32, "pad_token_id": 1, "projection_dim": 1280, "torch_dtype": "float16",
             "transformers_version": "4.32.0.dev0", "vocab_size": 49408}""";

    @Test
    void presetsHaveTheGoldenParameterCounts() throws IOException {
        JsonNode manifest = new ObjectMapper().readTree(SharedGoldens.dir().resolve("manifest.json").toFile());
        for (JsonNode c : manifest.path("cases")) {
            if (c.path("name").asText().equals("clip_l_full"))
                assertEquals(c.path("weights").path("num_params").asLong(), ClipTextConfig.CLIP_L.parameterCount());
            if (c.path("name").asText().equals("openclip_bigg_full"))
                assertEquals(c.path("weights").path("num_params").asLong(), ClipTextConfig.OPENCLIP_BIGG.parameterCount());
        }
        assertEquals(123_060_480L, ClipTextConfig.CLIP_L.parameterCount());
    }

    @Test
    void readsShippedTransformersConfigs(@TempDir Path tmp) throws IOException {
        Path a = Files.writeString(tmp.resolve("a.json"), SD15_TEXT_ENCODER);
        Path b = Files.writeString(tmp.resolve("b.json"), SDXL_TEXT_ENCODER_2);
        ClipTextConfig clipL = ClipTextConfig.read(a), bigG = ClipTextConfig.read(b);
        // The shipped files carry the legacy ids (eos 2 = "pool at the largest id"); the shapes are the presets'.
        assertEquals(ClipTextConfig.CLIP_L.withTokenIds(2, 1), clipL);
        assertEquals(ClipTextConfig.OPENCLIP_BIGG.withTokenIds(2, 1), bigG);
        assertFalse(clipL.withProjection());
        assertTrue(bigG.withProjection());
        assertEquals(64, bigG.headDim());
    }

    @Test
    void refusesConfigsThatDoNotFitNamingTheField() {
        ObjectMapper om = new ObjectMapper();
        var heads = assertThrows(IllegalArgumentException.class,
                () -> ClipTextConfig.fromJson(om.readTree("{\"hidden_size\": 768, \"num_attention_heads\": 10}")));
        assertTrue(heads.getMessage().contains("num_attention_heads"), heads.getMessage());
        var act = assertThrows(IllegalArgumentException.class,
                () -> ClipTextConfig.fromJson(om.readTree("{\"hidden_act\": \"swish\"}")));
        assertTrue(act.getMessage().contains("hidden_act") && act.getMessage().contains("swish"), act.getMessage());
        var layers = assertThrows(IllegalArgumentException.class,
                () -> ClipTextConfig.fromJson(om.readTree("{\"num_hidden_layers\": 0}")));
        assertTrue(layers.getMessage().contains("num_hidden_layers"), layers.getMessage());
        var notInt = assertThrows(IllegalArgumentException.class,
                () -> ClipTextConfig.fromJson(om.readTree("{\"hidden_size\": \"big\"}")));
        assertTrue(notInt.getMessage().contains("hidden_size"), notInt.getMessage());
    }
}
