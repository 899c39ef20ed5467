package dev.diffuse4j.model.unet;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.diffuse4j.model.goldens.SharedGoldens;
import dev.diffuse4j.weights.DeterministicWeights;
import dev.diffuse4j.weights.SafetensorsFile;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UNetConfigTest {
    static ObjectNode json(String resource) throws IOException {
        try (InputStream in = UNetConfigTest.class.getResourceAsStream("/configs/" + resource)) {
            return (ObjectNode) new ObjectMapper().readTree(in);
        }
    }

    @Test
    void readsTheSd15AndSdxlConfigs() throws IOException {
        assertEquals(UNetConfig.SD15, UNetConfig.fromJson(json("sd15-unet.json")));
        assertEquals(UNetConfig.SDXL_BASE, UNetConfig.fromJson(json("sdxl-unet.json")));
    }

    @Test
    void attentionHeadDimIsTheHeadCountUnlessNumAttentionHeadsIsSet() throws IOException {
        UNetConfig sd = UNetConfig.SD15;
        assertEquals(8, sd.heads(0));
        assertEquals(40, sd.channels(0) / sd.heads(0));
        UNetConfig xl = UNetConfig.SDXL_BASE;
        assertEquals(List.of(64, 64, 64), List.of(xl.channels(0) / xl.heads(0), xl.channels(1) / xl.heads(1), xl.channels(2) / xl.heads(2)));
        ObjectNode n = json("sd15-unet.json");
        n.put("num_attention_heads", 4);
        assertEquals(4, UNetConfig.fromJson(n).heads(2));
    }

    @Test
    void sdxlDerivedWidths() {
        UNetConfig xl = UNetConfig.SDXL_BASE;
        assertEquals(1280, xl.timeEmbedDim());
        assertEquals(1280, xl.pooledTextDim());
        assertEquals(10, xl.transformerDepth(xl.levels() - 1));
    }

    @Test
    void refusesWhatItDoesNotSupportByName() throws IOException {
        assertRefused("down_block_types[1]", n -> n.putArray("down_block_types").add("DownBlock2D").add("SimpleCrossAttnDownBlock2D").add("DownBlock2D"), "sdxl-unet.json");
        assertRefused("attention_head_dim[0]", n -> n.put("attention_head_dim", 7), "sd15-unet.json");
        assertRefused("class_embed_type", n -> n.put("class_embed_type", "timestep"), "sd15-unet.json");
        assertRefused("addition_embed_type", n -> n.put("addition_embed_type", "text"), "sdxl-unet.json");
        assertRefused("resnet_time_scale_shift", n -> n.put("resnet_time_scale_shift", "scale_shift"), "sd15-unet.json");
        assertRefused("block_out_channels[1]", n -> n.putArray("block_out_channels").add(320).add(650).add(1280).add(1280), "sd15-unet.json");
        assertRefused("mid_block_type", n -> n.put("mid_block_type", "UNetMidBlock2DSimpleCrossAttn"), "sd15-unet.json");
        assertRefused("transformer_layers_per_block", n -> n.putArray("transformer_layers_per_block").add(1).add(2), "sdxl-unet.json");
        assertRefused("upcast", n -> n.put("upcast_attention", "yes"), "sd15-unet.json");
    }

    private static void assertRefused(String field, java.util.function.Consumer<ObjectNode> edit, String base) throws IOException {
        ObjectNode n = json(base);
        edit.accept(n);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> UNetConfig.fromJson(n));
        assertTrue(e.getMessage().contains(field), "message should name " + field + ": " + e.getMessage());
    }

    @Test
    void infersTheFullConfigsFromCheckpointKeys() throws IOException {
        try (var sd = new DeterministicWeights(SharedGoldens.weightChecks("unet_full_sd15.weight_checks.json"));
             var xl = new DeterministicWeights(SharedGoldens.weightChecks("unet_full_sdxl.weight_checks.json"))) {
            assertEquals(UNetConfig.SD15, UNetConfigInference.infer(sd, LdmUNetMapping.PREFIX));
            // SDXL's level 0 has no transformer: its config says depth 1, the weights say 0; both build the same model
            ObjectNode n = json("sdxl-unet.json");
            n.putArray("transformer_layers_per_block").add(0).add(2).add(10);
            assertEquals(UNetConfig.fromJson(n), UNetConfigInference.infer(xl, LdmUNetMapping.PREFIX));
            assertEquals(UNet2DConditionModel.parameters(UNetConfig.SDXL_BASE).toString(), UNet2DConditionModel.parameters(UNetConfig.fromJson(n)).toString());
        }
    }

    @Test
    void infersTheTinyConfigsFromTheShippedWeights() {
        try (var f = SafetensorsFile.open(SharedGoldens.file("unet_tiny_sd15.weights.safetensors"))) {
            UNetConfig c = UNetConfigInference.infer(f, LdmUNetMapping.PREFIX, (level, ch) -> 2, 256);
            assertEquals(UNetConfig.TINY_SD15, c.withSampleSize(16));
        }
        try (var f = SafetensorsFile.open(SharedGoldens.file("unet_tiny_sdxl.weights.safetensors"))) {
            UNetConfig c = UNetConfigInference.infer(f, LdmUNetMapping.PREFIX, (level, ch) -> ch / 16, 8);
            assertEquals(UNetConfig.TINY_SDXL, c.withSampleSize(16));
        }
    }
}
