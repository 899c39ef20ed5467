package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.goldens.SharedGoldens;
import dev.diffuse4j.weights.SafetensorsFile;
import dev.diffuse4j.weights.TensorInfo;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The single-file key/shape list our mapping produces equals the one the goldens' independent
 * generator wrote (weight_checks.json for the full models, the shipped weights for the tiny ones).
 */
class LdmUNetMappingTest {
    @Test
    void sd15KeysAndShapesMatchTheGoldens() throws IOException {
        assertSameTensors(SharedGoldens.weightChecks("unet_full_sd15.weight_checks.json"),
                LdmUNetMapping.checkpointTensors(UNetConfig.SD15, LdmUNetMapping.PREFIX));
    }

    @Test
    void sdxlKeysAndShapesMatchTheGoldens() throws IOException {
        assertSameTensors(SharedGoldens.weightChecks("unet_full_sdxl.weight_checks.json"),
                LdmUNetMapping.checkpointTensors(UNetConfig.SDXL_BASE, LdmUNetMapping.PREFIX));
    }

    @Test
    void tinyKeysAndShapesMatchTheShippedWeights() {
        for (var c : List.of(Map.entry("unet_tiny_sd15.weights.safetensors", UNetConfig.TINY_SD15),
                Map.entry("unet_tiny_sdxl.weights.safetensors", UNetConfig.TINY_SDXL))) {
            try (SafetensorsFile f = SafetensorsFile.open(SharedGoldens.file(c.getKey()))) {
                assertSameTensors(f.keys().stream().map(f::info).toList(), LdmUNetMapping.checkpointTensors(c.getValue(), LdmUNetMapping.PREFIX));
            }
        }
    }

    @Test
    void namesFollowTheLdmLayout() {
        LdmUNetMapping sd = new LdmUNetMapping(UNetConfig.SD15);
        assertEquals("input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight", sd.ldmName("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight"));
        assertEquals("input_blocks.3.0.op.weight", sd.ldmName("down_blocks.0.downsamplers.0.conv.weight"));
        assertEquals("output_blocks.2.1.conv.bias", sd.ldmName("up_blocks.0.upsamplers.0.conv.bias"));
        assertEquals("output_blocks.5.2.conv.bias", sd.ldmName("up_blocks.1.upsamplers.0.conv.bias"));
        assertEquals("middle_block.2.emb_layers.1.weight", sd.ldmName("mid_block.resnets.1.time_emb_proj.weight"));
        assertEquals("output_blocks.11.0.skip_connection.weight", sd.ldmName("up_blocks.3.resnets.2.conv_shortcut.weight"));
        LdmUNetMapping xl = new LdmUNetMapping(UNetConfig.SDXL_BASE);
        assertEquals("output_blocks.2.2.conv.weight", xl.ldmName("up_blocks.0.upsamplers.0.conv.weight"));
        assertEquals("label_emb.0.2.bias", xl.ldmName("add_embedding.linear_2.bias"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sd.ldmName("down_blocks.0.norms.0.weight"));
        assertTrue(e.getMessage().contains("down_blocks.0.norms.0.weight"), e.getMessage());
    }

    static void assertSameTensors(List<TensorInfo> expected, List<TensorInfo> got) {
        Map<String, String> want = new TreeMap<>(), have = new TreeMap<>();
        for (TensorInfo t : expected) want.put(t.key(), Arrays.toString(t.shape()));
        for (TensorInfo t : got) assertEquals(null, have.put(t.key(), Arrays.toString(t.shape())), "key listed twice: " + t.key());
        Map<String, String> missing = new TreeMap<>(want), extra = new TreeMap<>(have);
        missing.keySet().removeAll(have.keySet());
        extra.keySet().removeAll(want.keySet());
        assertTrue(missing.isEmpty() && extra.isEmpty(), "keys we do not produce: " + missing + "\nkeys we produce that are not there: " + extra);
        assertEquals(want, have, "shapes differ");
    }
}
