package dev.diffuse4j.model.controlnet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.weights.ModelFamily;

import java.util.ArrayList;
import java.util.List;

/**
 * A diffusers ControlNetModel's hyper-parameters: the encoder half of a UNet ({@code unet}: its
 * down blocks, mid block, time and SDXL added embeddings; up-block fields are only mirrored for
 * validation) plus the conditioning-image embedding.
 *
 * @param conditioningChannels      channels of the control image (3: RGB)
 * @param embeddingChannels         diffusers' {@code conditioning_embedding_out_channels}: widths of the
 *                                  conditioning stack; each step after the first halves the size
 */
public record ControlNetConfig(UNetConfig unet, int conditioningChannels, List<Integer> embeddingChannels) {
    /** diffusers' default conditioning stack: 16, 32, 96, 256 (three stride-2 convs: 8 pixels per latent). */
    public static final List<Integer> DEFAULT_EMBEDDING = List.of(16, 32, 96, 256);

    public ControlNetConfig {
        embeddingChannels = List.copyOf(embeddingChannels);
        if (conditioningChannels <= 0) throw new IllegalArgumentException("ControlNet config: conditioning_channels = " + conditioningChannels + " must be > 0");
        if (embeddingChannels.isEmpty()) throw new IllegalArgumentException("ControlNet config: conditioning_embedding_out_channels is empty");
        for (int c : embeddingChannels)
            if (c <= 0) throw new IllegalArgumentException("ControlNet config: conditioning_embedding_out_channels = " + embeddingChannels + " holds a non-positive width");
    }

    /** A ControlNet copied from a UNet of this config (as they are trained), with diffusers' default conditioning stack. */
    public static ControlNetConfig forUNet(UNetConfig unet) { return new ControlNetConfig(unet, 3, DEFAULT_EMBEDDING); }

    /** Tiny ControlNets for the goldens' tiny UNets (fake models, tests): a narrow 4-step stack (8 pixels per latent). */
    public static final ControlNetConfig TINY_SD15 = new ControlNetConfig(UNetConfig.TINY_SD15, 3, List.of(8, 8, 16, 16));
    public static final ControlNetConfig TINY_SDXL = new ControlNetConfig(UNetConfig.TINY_SDXL, 3, List.of(8, 8, 16, 16));

    /** Control-image pixels per latent cell: 2^(stack steps - 1). */
    public int scaleFactor() { return 1 << (embeddingChannels.size() - 1); }

    /** SDXL when it has the text_time added embedding, else SD1.5 (the two families ControlNets exist for here). */
    public ModelFamily family() { return unet.hasTextTime() ? ModelFamily.SDXL_BASE : ModelFamily.SD15; }

    /** Parses a diffusers ControlNetModel config.json; absent keys take diffusers' defaults. */
    public static ControlNetConfig fromJson(JsonNode n) {
        String order = n.path("controlnet_conditioning_channel_order").asText("rgb");
        if (!order.equals("rgb"))
            throw new IllegalArgumentException("unsupported ControlNet config: controlnet_conditioning_channel_order = " + order + " (only rgb is supported)");
        if (n.path("global_pool_conditions").asBoolean(false))
            throw new IllegalArgumentException("unsupported ControlNet config: global_pool_conditions = true (shuffle-style ControlNets are not supported)");
        // ControlNetModel has no up blocks; mirror the down blocks so the UNet config validates as a whole.
        ObjectNode copy = n.deepCopy();
        JsonNode down = n.get("down_block_types");
        if (down != null && down.isArray()) {
            ArrayNode up = copy.putArray("up_block_types");
            for (int i = down.size() - 1; i >= 0; i--)
                up.add(down.get(i).asText().equals(UNetConfig.CROSS_DOWN) ? UNetConfig.CROSS_UP : UNetConfig.UP);
        }
        copy.put("out_channels", n.path("in_channels").asInt(4));
        UNetConfig unet = UNetConfig.fromJson(copy);
        List<Integer> emb = new ArrayList<>();
        JsonNode e = n.get("conditioning_embedding_out_channels");
        if (e == null || e.isNull()) emb.addAll(DEFAULT_EMBEDDING);
        else for (JsonNode v : e) emb.add(v.asInt());
        return new ControlNetConfig(unet, n.path("conditioning_channels").asInt(3), emb);
    }

    /** This config as a diffusers ControlNetModel config.json. */
    public ObjectNode toJson() {
        ObjectMapper m = new ObjectMapper();
        ObjectNode n = m.createObjectNode();
        n.put("_class_name", "ControlNetModel");
        n.put("sample_size", unet.sampleSize());
        n.put("in_channels", unet.inChannels());
        n.put("conditioning_channels", conditioningChannels);
        n.set("conditioning_embedding_out_channels", m.valueToTree(embeddingChannels));
        n.put("controlnet_conditioning_channel_order", "rgb");
        n.set("block_out_channels", m.valueToTree(unet.blockOutChannels()));
        n.put("layers_per_block", unet.layersPerBlock());
        n.set("down_block_types", m.valueToTree(unet.downBlockTypes()));
        n.put("mid_block_type", unet.midBlockType());
        n.set("attention_head_dim", m.valueToTree(unet.attentionHeadDim()));
        if (unet.numAttentionHeads() != null) n.set("num_attention_heads", m.valueToTree(unet.numAttentionHeads()));
        n.put("cross_attention_dim", unet.crossAttentionDim());
        n.set("transformer_layers_per_block", m.valueToTree(unet.transformerLayersPerBlock()));
        n.put("use_linear_projection", unet.useLinearProjection());
        n.put("norm_num_groups", unet.normNumGroups());
        n.put("norm_eps", unet.normEps());
        n.put("flip_sin_to_cos", unet.flipSinToCos());
        n.put("freq_shift", unet.freqShift());
        if (unet.hasTextTime()) {
            n.put("addition_embed_type", unet.additionEmbedType());
            n.put("addition_time_embed_dim", unet.additionTimeEmbedDim());
            n.put("projection_class_embeddings_input_dim", unet.projectionClassEmbeddingsInputDim());
        }
        n.put("global_pool_conditions", false);
        return n;
    }
}
