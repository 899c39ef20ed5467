package dev.diffuse4j.model.goldens;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.model.unet.LdmUNetMapping;
import dev.diffuse4j.model.unet.UNet2DConditionModel;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.model.unet.UNetLoader;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.weights.TensorSource;

import java.util.List;
import java.util.Set;

/**
 * Golden cases of kind "unet": {@code eps = unet(x, timesteps, context[, y])} with single-file
 * (LDM/SGM) weights, compared on {@code output.eps}.
 */
public final class UNetGoldenRunner implements GoldenCaseRunner {
    @Override
    public Set<String> kinds() { return Set.of("unet"); }

    @Override
    public List<Comparison> run(GoldenCase gc, Device device) {
        UNetConfig config = config(gc);
        String prefix = GoldenWeights.prefix(gc, LdmUNetMapping.PREFIX);
        try (GoldenData data = GoldenData.open(gc);
             TensorSource weights = GoldenWeights.open(gc, LdmUNetMapping.checkpointTensors(config, prefix));
             UNet2DConditionModel unet = UNetLoader.load(config, weights, new LdmUNetMapping(config, prefix), k -> k.startsWith(prefix), Placement.of(device));
             Scope s = Scope.open()) {
            UNetInput in = UNetInput.of(data.nhwc("input.x", device), data.floats("input.timesteps"), data.on("input.context", device));
            if (data.has("input.y")) in = in.withY(data.on("input.y", device));
            Tensor eps = unet.forward(in);
            return List.of(data.compareNchw("output.eps", eps));
        }
    }

    /**
     * The case's "diffusers_style" config. The tiny SDXL case describes its added conditioning in
     * words (SGM's label_emb fed with y); in diffusers terms that is "text_time" with time ids
     * embedded at (y width - pooled width) / 6 channels.
     */
    static UNetConfig config(GoldenCase gc) {
        JsonNode style = gc.json().path("diffusers_style");
        if (!style.isObject()) throw new IllegalArgumentException(gc.name() + ": the manifest has no diffusers_style config");
        ObjectNode n = ((ObjectNode) style).deepCopy();
        JsonNode add = n.get("addition_embed_type");
        if (add != null && add.isTextual() && !add.asText().equals(UNetConfig.TEXT_TIME) && n.hasNonNull("projection_class_embeddings_input_dim")) {
            int y = n.get("projection_class_embeddings_input_dim").asInt();
            JsonNode pooled = gc.json().path("inputs").path("input.pooled").path("shape");
            if (!pooled.isArray() || pooled.size() != 2)
                throw new IllegalArgumentException(gc.name() + ": cannot tell the time-id width: no input.pooled [B, D] next to y [B, " + y + "]");
            n.put("addition_embed_type", UNetConfig.TEXT_TIME);
            n.put("addition_time_embed_dim", (y - pooled.get(1).asInt()) / UNetConfig.TIME_IDS);
        }
        return UNetConfig.fromJson(n);
    }
}
