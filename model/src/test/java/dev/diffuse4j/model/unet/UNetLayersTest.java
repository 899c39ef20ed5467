package dev.diffuse4j.model.unet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.goldens.SharedGoldens;
import dev.diffuse4j.model.nn.ParamStore;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class UNetLayersTest {
    @Test
    void sdxlSelfAttentionOrderMatchesDiffusersAttnProcessors() throws IOException {
        JsonNode grading = new ObjectMapper().readTree(SharedGoldens.shared("reference/conditional-balance/style_layer_grading.json").toFile());
        List<String> expected = new ArrayList<>();
        for (JsonNode n : grading.path("layer_names")) expected.add(n.asText());
        List<String> ours = new ArrayList<>();
        UNet2DConditionModel unet = UNet2DConditionModel.build(UNetConfig.SDXL_BASE, ParamStore.recording());
        for (LayerInfo l : unet.layers()) if (l.isSelf()) ours.add(l.name() + ".processor");
        assertEquals(expected, ours);
    }

    @Test
    void indicesResolutionsAndCounts() {
        List<LayerInfo> xl = UNetLayers.of(UNetConfig.SDXL_BASE, 128, 128);
        assertEquals(140, xl.size());
        for (int i = 0; i < xl.size(); i++) assertEquals(i, xl.get(i).index());
        LayerInfo first = xl.get(0);
        assertEquals("down_blocks.1.attentions.0.transformer_blocks.0.attn1", first.name());
        assertEquals(64, first.height());
        assertEquals(1, first.level());
        LayerInfo cross = xl.get(1);
        assertEquals(LayerInfo.Kind.CROSS, cross.kind());
        assertEquals(0, cross.kindIndex());
        LayerInfo last = xl.getLast();
        assertEquals("mid_block.attentions.0.transformer_blocks.9.attn2", last.name());
        assertEquals(LayerInfo.Block.MID, last.block());
        assertEquals(32, last.width());
        assertEquals(69, last.kindIndex());

        List<LayerInfo> sd = UNetLayers.of(UNetConfig.SD15, 64, 64);
        assertEquals(32, sd.size());
        assertEquals(16, sd.stream().filter(LayerInfo::isSelf).count());
        // SD1.5 at 512px: the 16x16 layers are down_blocks.2 (2) and up_blocks.1 (3), per kind
        assertEquals(5, sd.stream().filter(l -> l.isCross() && l.tokens() == 256).count());
        // odd latent sizes halve with ceiling, as stride-2 convs with padding 1 do
        assertEquals(9, UNetLayers.of(UNetConfig.SD15, 67, 64).stream().filter(l -> l.level() == 3).findFirst().orElseThrow().height());
    }
}
