package dev.diffuse4j.model.goldens;

import com.fasterxml.jackson.databind.JsonNode;
import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.model.vae.AutoencoderKL;
import dev.diffuse4j.model.vae.LdmVaeMapping;
import dev.diffuse4j.model.vae.VaeConfig;
import dev.diffuse4j.model.vae.VaeLoader;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.weights.TensorSource;

import java.util.List;
import java.util.Set;

/**
 * Golden cases of kinds "vae_decoder" ({@code image = decoder(post_quant_conv(latent))}, latent used
 * as given) and "vae_encoder" ({@code moments = quant_conv(encoder(image))}, unclamped).
 */
public final class VaeGoldenRunner implements GoldenCaseRunner {
    @Override
    public Set<String> kinds() { return Set.of("vae_decoder", "vae_encoder"); }

    @Override
    public List<Comparison> run(GoldenCase gc, Device device) {
        JsonNode style = gc.json().path("diffusers_style");
        if (!style.isObject()) throw new IllegalArgumentException(gc.name() + ": the manifest has no diffusers_style config");
        VaeConfig config = VaeConfig.fromJson(style);
        boolean decoder = gc.kind().equals("vae_decoder");
        AutoencoderKL.Part part = decoder ? AutoencoderKL.Part.DECODER : AutoencoderKL.Part.ENCODER;
        String prefix = GoldenWeights.prefix(gc, LdmVaeMapping.PREFIX);
        try (GoldenData data = GoldenData.open(gc);
             TensorSource weights = GoldenWeights.open(gc, LdmVaeMapping.checkpointTensors(config, part, prefix));
             AutoencoderKL vae = VaeLoader.load(config, weights, part, new LdmVaeMapping(config, prefix), k -> k.startsWith(prefix), Placement.of(device));
             Scope s = Scope.open()) {
            if (decoder) {
                Tensor image = vae.decode(data.nhwc("input.latent", device));
                return List.of(data.compareNchw("output.image", image));
            }
            Tensor moments = vae.moments(data.nhwc("input.image", device));
            return List.of(data.compareNchw("output.moments", moments));
        }
    }
}
