package dev.diffuse4j.model.goldens;

import dev.diffuse4j.runtime.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Cases that cannot run are failures with their reason, never silently skipped. */
class GoldensRunnerTest {
    @Test
    void unrunnableCasesFailWithTheReason(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("manifest.json"), """
                {"cases": [
                  {"name": "mystery", "kind": "no_such_kind", "tol_max_abs": 1, "tol_rel_l2": 1},
                  {"name": "lost_vae", "kind": "vae_decoder", "files": ["lost_vae.safetensors"], "tol_max_abs": 1, "tol_rel_l2": 1,
                   "diffusers_style": {"block_out_channels": [32], "down_block_types": ["DownEncoderBlock2D"],
                                       "up_block_types": ["UpDecoderBlock2D"], "layers_per_block": 1}},
                  {"name": "unrequested", "kind": "no_such_kind", "tol_max_abs": 1, "tol_rel_l2": 1}
                ]}""");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Goldens.Report r = Goldens.run(dir, Device.CPU, List.of("mystery", "lost_vae", "not_there"), new PrintStream(buf, true, StandardCharsets.UTF_8));
        String text = buf.toString(StandardCharsets.UTF_8);
        assertFalse(r.allPassed());
        assertEquals(3, r.failures(), text);
        assertEquals(3, r.cases().size(), "only the requested cases run: " + text);
        assertFalse(text.contains("unrequested"), text);
        assertTrue(text.contains("no runner for kind \"no_such_kind\""), text);
        assertTrue(text.contains("lost_vae.safetensors"), text);
        assertTrue(text.contains("no case named not_there"), text);
    }
}
