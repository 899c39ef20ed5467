package dev.diffuse4j.model.vae;

import dev.diffuse4j.model.goldens.SharedGoldens;
import dev.diffuse4j.weights.ParamMapping;
import dev.diffuse4j.weights.ParamSpec;
import dev.diffuse4j.weights.ParamTransform;
import dev.diffuse4j.weights.TensorInfo;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LdmVaeMappingTest {
    @Test
    void decoderKeysAndShapesMatchTheGoldens() throws IOException {
        assertSameTensors(SharedGoldens.weightChecks("vae_full_decoder.weight_checks.json"),
                LdmVaeMapping.checkpointTensors(VaeConfig.SD15, AutoencoderKL.Part.DECODER, LdmVaeMapping.PREFIX));
    }

    @Test
    void encoderKeysAndShapesMatchTheGoldens() throws IOException {
        assertSameTensors(SharedGoldens.weightChecks("vae_full_encoder.weight_checks.json"),
                LdmVaeMapping.checkpointTensors(VaeConfig.SD15, AutoencoderKL.Part.ENCODER, LdmVaeMapping.PREFIX));
    }

    @Test
    void decoderUpBlocksAreReversedAndAttentionIsStoredAsConv() {
        LdmVaeMapping m = new LdmVaeMapping(VaeConfig.SDXL);
        assertEquals("decoder.up.3.block.0.conv1.weight", m.ldmName("decoder.up_blocks.0.resnets.0.conv1.weight"));
        assertEquals("decoder.up.1.upsample.conv.bias", m.ldmName("decoder.up_blocks.2.upsamplers.0.conv.bias"));
        assertEquals("decoder.up.0.block.0.nin_shortcut.weight", m.ldmName("decoder.up_blocks.3.resnets.0.conv_shortcut.weight"));
        assertEquals("encoder.down.2.downsample.conv.weight", m.ldmName("encoder.down_blocks.2.downsamplers.0.conv.weight"));
        assertEquals("encoder.norm_out.bias", m.ldmName("encoder.conv_norm_out.bias"));
        ParamMapping.Mapped q = m.map(new ParamSpec("decoder.mid_block.attentions.0.to_q.weight", new int[]{512, 512}));
        assertEquals("first_stage_model.decoder.mid.attn_1.q.weight", q.sourceKey());
        assertArrayEquals(new int[]{512, 512, 1, 1}, q.sourceShape());
        assertSame(ParamTransform.RESHAPE, q.transform());
        ParamMapping.Mapped out = m.map(new ParamSpec("encoder.mid_block.attentions.0.to_out.0.bias", new int[]{512}));
        assertEquals("first_stage_model.encoder.mid.attn_1.proj_out.bias", out.sourceKey());
        assertSame(ParamTransform.IDENTITY, out.transform());
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
