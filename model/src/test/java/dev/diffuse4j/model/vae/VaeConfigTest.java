package dev.diffuse4j.model.vae;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VaeConfigTest {
    static ObjectNode json(String resource) throws IOException {
        try (InputStream in = VaeConfigTest.class.getResourceAsStream("/configs/" + resource)) {
            return (ObjectNode) new ObjectMapper().readTree(in);
        }
    }

    @Test
    void readsSd15AndSdxlWithTheirScalingFactors() throws IOException {
        VaeConfig sd = VaeConfig.fromJson(json("sd15-vae.json"));
        assertEquals(VaeConfig.SD15, sd);
        assertEquals(0.18215f, sd.scalingFactor(), "absent scaling_factor takes the diffusers default");
        VaeConfig xl = VaeConfig.fromJson(json("sdxl-vae.json"));
        assertEquals(VaeConfig.SDXL, xl);
        assertEquals(0.13025f, xl.scalingFactor());
        assertTrue(xl.forceUpcast());
        assertEquals(8, xl.downscale());
    }

    @Test
    void infersTheFullVaeFromCheckpointKeys() throws IOException {
        try (var dec = new dev.diffuse4j.weights.DeterministicWeights(dev.diffuse4j.model.goldens.SharedGoldens.weightChecks("vae_full_decoder.weight_checks.json"));
             var enc = new dev.diffuse4j.weights.DeterministicWeights(dev.diffuse4j.model.goldens.SharedGoldens.weightChecks("vae_full_encoder.weight_checks.json"))) {
            assertEquals(VaeConfig.SD15, VaeConfigInference.infer(dec, LdmVaeMapping.PREFIX, 0.18215f, 512));
            assertEquals(VaeConfig.SDXL, VaeConfigInference.infer(enc, LdmVaeMapping.PREFIX, 0.13025f, 1024));
        }
    }

    @Test
    void refusesOtherFamilies() throws IOException {
        ObjectNode n = json("sdxl-vae.json");
        n.put("shift_factor", 0.1159);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VaeConfig.fromJson(n));
        assertTrue(e.getMessage().contains("shift_factor"), e.getMessage());
        ObjectNode m = json("sd15-vae.json");
        m.putArray("up_block_types").add("UpDecoderBlock2D").add("UpDecoderBlock2D").add("AttnUpDecoderBlock2D").add("UpDecoderBlock2D");
        e = assertThrows(IllegalArgumentException.class, () -> VaeConfig.fromJson(m));
        assertTrue(e.getMessage().contains("up_block_types[2]"), e.getMessage());
    }
}
