package dev.diffuse4j.model.vae;

import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.weights.Checkpoint;
import dev.diffuse4j.weights.Checkpoints;
import dev.diffuse4j.weights.DeterministicWeights;
import dev.diffuse4j.weights.ParamMapping;
import dev.diffuse4j.weights.ParamSpec;
import dev.diffuse4j.weights.SafetensorsWriter;
import dev.diffuse4j.weights.TensorInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * One small VAE written three ways (single file with LDM keys, diffusers folder, diffusers folder
 * with the old query/key/value/proj_attn names) decodes and encodes identically from each.
 */
class VaeCheckpointTest {
    static final VaeConfig SMALL = new VaeConfig(3, 3, 4, List.of(32, 64), 1, 32, 64, 0.18215f, true, true, true, true);

    @Test
    void singleFileAndDiffusersLayoutsAgree(@TempDir Path dir) throws IOException {
        List<TensorInfo> ldm = LdmVaeMapping.checkpointTensors(SMALL, AutoencoderKL.Part.BOTH, LdmVaeMapping.PREFIX);
        LdmVaeMapping mapping = new LdmVaeMapping(SMALL);
        Path single = dir.resolve("vae.safetensors");
        try (DeterministicWeights gen = new DeterministicWeights(ldm)) {
            SafetensorsWriter.write(single, gen, Map.of());
            for (boolean legacy : new boolean[]{false, true}) {
                Path folder = dir.resolve(legacy ? "legacy" : "diffusers");
                Files.createDirectories(folder.resolve("vae"));
                Files.writeString(folder.resolve("model_index.json"), """
                        {"_class_name": "StableDiffusionPipeline", "vae": ["diffusers", "AutoencoderKL"]}""");
                Files.writeString(folder.resolve("vae/config.json"), """
                        {"_class_name": "AutoencoderKL", "block_out_channels": [32, 64], "layers_per_block": 1,
                         "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
                         "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"], "sample_size": 64}""");
                try (Scope s = Scope.open()) {
                    Map<String, Tensor> named = new LinkedHashMap<>();
                    for (ParamSpec p : AutoencoderKL.parameters(SMALL, AutoencoderKL.Part.BOTH)) {
                        ParamMapping.Mapped m = mapping.map(p);
                        Tensor t = m.transform().apply(gen.tensor(m.sourceKey()), p.shape());
                        named.put(legacy ? legacyName(p.name()) : p.name(), t);
                    }
                    SafetensorsWriter.write(folder.resolve("vae/diffusion_pytorch_model.safetensors"), named);
                }
            }
        }
        float[] latent = new float[2 * 4 * 4 * 4], image = new float[1 * 8 * 8 * 3];
        Random r = new Random(11);
        for (int i = 0; i < latent.length; i++) latent[i] = (float) r.nextGaussian();
        for (int i = 0; i < image.length; i++) image[i] = (float) (2 * r.nextDouble() - 1);

        float[][] decoded = new float[3][], moments = new float[3][];
        Path[] sources = {single, dir.resolve("diffusers"), dir.resolve("legacy")};
        for (int i = 0; i < 3; i++) {
            try (Checkpoint ckpt = Checkpoints.open(sources[i]);
                 AutoencoderKL vae = VaeLoader.from(ckpt, AutoencoderKL.Part.BOTH, Device.CPU);
                 Scope s = Scope.open()) {
                assertEquals(0.18215f, vae.scalingFactor());
                Tensor img = vae.decode(Tensor.of(latent, 2, 4, 4, 4));
                assertArrayEquals(new int[]{2, 8, 8, 3}, img.shape());
                decoded[i] = img.toFloatArray();
                Tensor m = vae.moments(Tensor.of(image, 1, 8, 8, 3));
                assertArrayEquals(new int[]{1, 4, 4, 8}, m.shape());
                moments[i] = m.toFloatArray();
            }
        }
        assertArrayEquals(decoded[0], decoded[1]);
        assertArrayEquals(decoded[0], decoded[2]);
        assertArrayEquals(moments[0], moments[1]);
        assertArrayEquals(moments[0], moments[2]);
    }

    private static String legacyName(String name) {
        return name.replace("attentions.0.to_q.", "attentions.0.query.").replace("attentions.0.to_k.", "attentions.0.key.")
                .replace("attentions.0.to_v.", "attentions.0.value.").replace("attentions.0.to_out.0.", "attentions.0.proj_attn.");
    }
}
