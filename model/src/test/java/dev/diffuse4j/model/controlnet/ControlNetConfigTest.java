package dev.diffuse4j.model.controlnet;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.weights.DeterministicWeights;
import dev.diffuse4j.weights.ParamSpec;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Real ControlNet configs and key layouts (no weights needed: names and shapes only). */
class ControlNetConfigTest {
    /** The keys of lllyasviel/sd-controlnet-canny's config.json. */
    static final String SD15_JSON = """
            {"_class_name": "ControlNetModel", "act_fn": "silu", "attention_head_dim": 8,
             "block_out_channels": [320, 640, 1280, 1280], "class_embed_type": null,
             "conditioning_embedding_out_channels": [16, 32, 96, 256], "controlnet_conditioning_channel_order": "rgb",
             "cross_attention_dim": 768,
             "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
             "downsample_padding": 1, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
             "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "num_class_embeds": null,
             "only_cross_attention": false, "projection_class_embeddings_input_dim": null,
             "resnet_time_scale_shift": "default", "upcast_attention": false, "use_linear_projection": false}""";

    /** The keys of diffusers/controlnet-canny-sdxl-1.0's config.json. */
    static final String SDXL_JSON = """
            {"_class_name": "ControlNetModel", "act_fn": "silu", "addition_embed_type": "text_time",
             "addition_embed_type_num_heads": 64, "addition_time_embed_dim": 256, "attention_head_dim": [5, 10, 20],
             "block_out_channels": [320, 640, 1280], "class_embed_type": null, "conditioning_channels": 3,
             "conditioning_embedding_out_channels": [16, 32, 96, 256], "controlnet_conditioning_channel_order": "rgb",
             "cross_attention_dim": 2048, "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
             "downsample_padding": 1, "encoder_hid_dim": null, "encoder_hid_dim_type": null, "flip_sin_to_cos": true,
             "freq_shift": 0, "global_pool_conditions": false, "in_channels": 4, "layers_per_block": 2,
             "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "num_attention_heads": null,
             "num_class_embeds": null, "only_cross_attention": false, "projection_class_embeddings_input_dim": 2816,
             "resnet_time_scale_shift": "default", "transformer_layers_per_block": [1, 2, 10], "upcast_attention": null,
             "use_linear_projection": true}""";

    static List<String> layout(ControlNetConfig c) {
        return ControlNetModel.parameters(c).stream().map(p -> p.name() + Arrays.toString(p.shape())).toList();
    }

    @Test
    void realConfigsDescribeACopyOfTheirUNetsEncoder() throws Exception {
        ControlNetConfig sd15 = ControlNetConfig.fromJson(new ObjectMapper().readTree(SD15_JSON));
        ControlNetConfig sdxl = ControlNetConfig.fromJson(new ObjectMapper().readTree(SDXL_JSON));
        assertEquals(layout(ControlNetConfig.forUNet(UNetConfig.SD15)), layout(sd15));
        assertEquals(layout(ControlNetConfig.forUNet(UNetConfig.SDXL_BASE)), layout(sdxl));
        assertEquals(dev.diffuse4j.weights.ModelFamily.SDXL_BASE, sdxl.family());
        assertEquals(8, sd15.scaleFactor());
        // SD1.5: conv_in/time/cond-embedding + 12 zero convs + mid zero conv over the UNet's encoder
        assertEquals(12, ControlNetModel.parameters(sd15).stream().filter(p -> p.name().startsWith("controlnet_down_blocks.") && p.name().endsWith(".weight")).count());
        assertEquals(9, ControlNetModel.parameters(sdxl).stream().filter(p -> p.name().startsWith("controlnet_down_blocks.") && p.name().endsWith(".weight")).count());
        long params = 0;
        for (ParamSpec p : ControlNetModel.parameters(sd15)) params += Arrays.stream(p.shape()).asLongStream().reduce(1, (a, b) -> a * b);
        assertTrue(params > 360_000_000L && params < 362_000_000L, "SD1.5 ControlNet has about 361M parameters, got " + params);
    }

    @Test
    void bgrAndPooledControlNetsAreRefusedByName() throws Exception {
        var bgr = (com.fasterxml.jackson.databind.node.ObjectNode) new ObjectMapper().readTree(SD15_JSON);
        bgr.put("controlnet_conditioning_channel_order", "bgr");
        var e = assertThrows(IllegalArgumentException.class, () -> ControlNetConfig.fromJson(bgr));
        assertTrue(e.getMessage().contains("controlnet_conditioning_channel_order"), e.getMessage());
        var pooled = (com.fasterxml.jackson.databind.node.ObjectNode) new ObjectMapper().readTree(SDXL_JSON);
        pooled.put("global_pool_conditions", true);
        e = assertThrows(IllegalArgumentException.class, () -> ControlNetConfig.fromJson(pooled));
        assertTrue(e.getMessage().contains("global_pool_conditions"), e.getMessage());
    }

    @Test
    void inferenceReadsRealOriginalLayoutsBackWithAndWithoutPrefix() {
        for (UNetConfig u : List.of(UNetConfig.SD15, UNetConfig.SDXL_BASE)) {
            ControlNetConfig c = ControlNetConfig.forUNet(u);
            for (String prefix : List.of(LdmControlNetMapping.PREFIX, "")) {
                try (DeterministicWeights keys = new DeterministicWeights(LdmControlNetMapping.checkpointTensors(c, prefix))) {
                    assertEquals(prefix, ControlNetConfigInference.prefix(keys));
                    assertEquals(layout(c), layout(ControlNetConfigInference.infer(keys, prefix)), "standard heads and time ids, prefix '" + prefix + "'");
                }
            }
        }
    }

    @Test
    void originalNamesFollowTheLdmLayout() {
        var m = new LdmControlNetMapping(ControlNetConfig.forUNet(UNetConfig.SD15), LdmControlNetMapping.PREFIX);
        assertEquals("input_hint_block.0.weight", m.ldmName("controlnet_cond_embedding.conv_in.weight"));
        assertEquals("input_hint_block.12.bias", m.ldmName("controlnet_cond_embedding.blocks.5.bias"));
        assertEquals("input_hint_block.14.weight", m.ldmName("controlnet_cond_embedding.conv_out.weight"));
        assertEquals("zero_convs.11.0.weight", m.ldmName("controlnet_down_blocks.11.weight"));
        assertEquals("middle_block_out.0.bias", m.ldmName("controlnet_mid_block.bias"));
        assertEquals("input_blocks.4.1.proj_in.weight", m.ldmName("down_blocks.1.attentions.0.proj_in.weight"));
        assertEquals("input_blocks.9.0.op.weight", m.ldmName("down_blocks.2.downsamplers.0.conv.weight"));
        assertEquals("middle_block.2.out_layers.3.weight", m.ldmName("mid_block.resnets.1.conv2.weight"));
    }
}
