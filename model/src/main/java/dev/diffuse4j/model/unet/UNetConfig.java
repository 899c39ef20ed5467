package dev.diffuse4j.model.unet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The hyper-parameters of a UNet2DConditionModel, named as in a diffusers {@code unet/config.json}.
 * Lists that diffusers accepts as "int or list" are stored per level (down-block order).
 * Only the SD1.x/SD2.x/SDXL family is supported; anything else is refused by name.
 *
 * @param attentionHeadDim   diffusers' {@code attention_head_dim}; when {@code numAttentionHeads} is
 *                           absent diffusers uses it as the head COUNT (SD1.5: 8, SDXL: 5/10/20)
 * @param numAttentionHeads  diffusers' {@code num_attention_heads} per level, or null
 * @param transformerLayersPerBlock depth of every Transformer2DModel per level; the mid block uses
 *                           the last level's; up blocks use the reversed list
 * @param additionEmbedType  null, or "text_time" (SDXL: pooled text embeds + 6 micro-conditioning ids)
 */
public record UNetConfig(int sampleSize, int inChannels, int outChannels,
                         List<Integer> blockOutChannels, int layersPerBlock,
                         List<String> downBlockTypes, String midBlockType, List<String> upBlockTypes,
                         List<Integer> attentionHeadDim, List<Integer> numAttentionHeads,
                         int crossAttentionDim, List<Integer> transformerLayersPerBlock,
                         boolean useLinearProjection, int normNumGroups, float normEps,
                         boolean flipSinToCos, float freqShift,
                         String additionEmbedType, int additionTimeEmbedDim, int projectionClassEmbeddingsInputDim,
                         boolean upcastAttention) {

    public static final String CROSS_DOWN = "CrossAttnDownBlock2D", DOWN = "DownBlock2D";
    public static final String CROSS_UP = "CrossAttnUpBlock2D", UP = "UpBlock2D";
    public static final String MID = "UNetMidBlock2DCrossAttn";
    public static final String TEXT_TIME = "text_time";
    /** SDXL's micro-conditioning: original size (h, w), crop top-left (y, x), target size (h, w). */
    public static final int TIME_IDS = 6;

    /** runwayml/stable-diffusion-v1-5 unet/config.json. */
    public static final UNetConfig SD15 = new UNetConfig(64, 4, 4, List.of(320, 640, 1280, 1280), 2,
            List.of(CROSS_DOWN, CROSS_DOWN, CROSS_DOWN, DOWN), MID, List.of(UP, CROSS_UP, CROSS_UP, CROSS_UP),
            List.of(8, 8, 8, 8), null, 768, List.of(1, 1, 1, 1), false, 32, 1e-5f, true, 0f,
            null, 0, 0, false);

    /** stabilityai/stable-diffusion-xl-base-1.0 unet/config.json. */
    public static final UNetConfig SDXL_BASE = new UNetConfig(128, 4, 4, List.of(320, 640, 1280), 2,
            List.of(DOWN, CROSS_DOWN, CROSS_DOWN), MID, List.of(CROSS_UP, CROSS_UP, UP),
            List.of(5, 10, 20), null, 2048, List.of(1, 2, 10), true, 32, 1e-5f, true, 0f,
            TEXT_TIME, 256, 2816, false);

    /** The goldens' tiny SD1.5-like UNet (case unet_tiny_sd15): 2 levels of 32/64 channels, 2 heads. */
    public static final UNetConfig TINY_SD15 = new UNetConfig(16, 4, 4, List.of(32, 64), 2,
            List.of(CROSS_DOWN, DOWN), MID, List.of(UP, CROSS_UP),
            List.of(2, 2), null, 32, List.of(1, 1), false, 32, 1e-5f, true, 0f,
            null, 0, 0, false);

    /** The goldens' tiny SDXL-like UNet (case unet_tiny_sdxl): head dim 16, depths 0/1/2, y = 16 + 6*8. */
    public static final UNetConfig TINY_SDXL = new UNetConfig(16, 4, 4, List.of(32, 64, 64), 2,
            List.of(DOWN, CROSS_DOWN, CROSS_DOWN), MID, List.of(CROSS_UP, CROSS_UP, UP),
            List.of(2, 4, 4), null, 48, List.of(0, 1, 2), true, 32, 1e-5f, true, 0f,
            TEXT_TIME, 8, 64, false);

    public UNetConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        attentionHeadDim = List.copyOf(attentionHeadDim);
        numAttentionHeads = numAttentionHeads == null ? null : List.copyOf(numAttentionHeads);
        transformerLayersPerBlock = List.copyOf(transformerLayersPerBlock);
        validate(sampleSize, inChannels, outChannels, blockOutChannels, layersPerBlock, downBlockTypes, midBlockType,
                upBlockTypes, attentionHeadDim, numAttentionHeads, crossAttentionDim, transformerLayersPerBlock,
                normNumGroups, normEps, additionEmbedType, additionTimeEmbedDim, projectionClassEmbeddingsInputDim);
    }

    // ---------------------------------------------------------------- derived

    public int levels() { return blockOutChannels.size(); }

    public int channels(int level) { return blockOutChannels.get(level); }

    /** Width of the time embedding: 4 * block_out_channels[0]. */
    public int timeEmbedDim() { return 4 * blockOutChannels.get(0); }

    /** Heads of the attention layers at a level: num_attention_heads, else attention_head_dim (the diffusers quirk). */
    public int heads(int level) { return (numAttentionHeads != null ? numAttentionHeads : attentionHeadDim).get(level); }

    public int transformerDepth(int level) { return transformerLayersPerBlock.get(level); }

    public boolean downHasAttention(int block) { return downBlockTypes.get(block).equals(CROSS_DOWN); }

    /** Up block i works at level levels-1-i. */
    public boolean upHasAttention(int block) { return upBlockTypes.get(block).equals(CROSS_UP); }

    public int upLevel(int block) { return levels() - 1 - block; }

    public boolean hasTextTime() { return TEXT_TIME.equals(additionEmbedType); }

    /** Width of the pooled text embedding in SDXL's added conditioning (1280). */
    public int pooledTextDim() { return projectionClassEmbeddingsInputDim - TIME_IDS * additionTimeEmbedDim; }

    /** The same model at another default latent size (e.g. 96 for 768px SD2 checkpoints). */
    public UNetConfig withSampleSize(int size) {
        return new UNetConfig(size, inChannels, outChannels, blockOutChannels, layersPerBlock, downBlockTypes, midBlockType,
                upBlockTypes, attentionHeadDim, numAttentionHeads, crossAttentionDim, transformerLayersPerBlock,
                useLinearProjection, normNumGroups, normEps, flipSinToCos, freqShift, additionEmbedType, additionTimeEmbedDim,
                projectionClassEmbeddingsInputDim, upcastAttention);
    }

    // ---------------------------------------------------------------- diffusers config.json

    public static UNetConfig read(Path configJson) throws IOException {
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(Files.readString(configJson));
        } catch (IOException e) {
            throw new IOException("cannot read UNet config " + configJson + ": " + e.getMessage(), e);
        }
        try {
            return fromJson(n);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(configJson + ": " + e.getMessage(), e);
        }
    }

    /** Keys a supported config may set only to these (diffusers default) values. */
    private static final Map<String, Object> FIXED = Map.ofEntries(
            Map.entry("center_input_sample", false), Map.entry("only_cross_attention", false),
            Map.entry("downsample_padding", 1), Map.entry("mid_block_scale_factor", 1.0),
            Map.entry("act_fn", "silu"), Map.entry("dual_cross_attention", false),
            Map.entry("resnet_time_scale_shift", "default"), Map.entry("resnet_skip_time_act", false),
            Map.entry("resnet_out_scale_factor", 1.0), Map.entry("time_embedding_type", "positional"),
            Map.entry("conv_in_kernel", 3), Map.entry("conv_out_kernel", 3), Map.entry("attention_type", "default"),
            Map.entry("class_embeddings_concat", false));

    /** Keys a supported config must leave null or absent. */
    private static final List<String> NULL = List.of("class_embed_type", "num_class_embeds", "encoder_hid_dim",
            "encoder_hid_dim_type", "time_embedding_dim", "time_embedding_act_fn", "timestep_post_act",
            "time_cond_proj_dim", "reverse_transformer_layers_per_block", "cross_attention_norm",
            "mid_block_only_cross_attention");

    /** Parses a diffusers unet/config.json; absent keys take diffusers' defaults. */
    public static UNetConfig fromJson(JsonNode n) {
        for (Map.Entry<String, Object> e : FIXED.entrySet()) {
            JsonNode v = n.get(e.getKey());
            if (v == null || v.isNull()) continue;
            Object want = e.getValue();
            boolean ok = want instanceof Boolean b ? v.isBoolean() && v.asBoolean() == b
                    : want instanceof Integer i ? v.isNumber() && v.asDouble() == i
                    : want instanceof Double d ? v.isNumber() && v.asDouble() == d
                    : v.asText().equals(want);
            if (!ok) throw new IllegalArgumentException("unsupported UNet config: " + e.getKey() + " = " + v + " (only " + want + " is supported)");
        }
        for (String k : NULL) {
            JsonNode v = n.get(k);
            if (v != null && !v.isNull()) throw new IllegalArgumentException("unsupported UNet config: " + k + " = " + v + " (only null is supported)");
        }
        List<Integer> channels = intList(n, "block_out_channels", List.of(320, 640, 1280, 1280), -1);
        int levels = channels.size();
        List<Integer> layers = intList(n, "layers_per_block", List.of(2), levels);
        for (int l : layers)
            if (l != layers.get(0)) throw new IllegalArgumentException("unsupported UNet config: layers_per_block = " + layers + " (must be the same at every level)");
        List<Integer> crossDims = intList(n, "cross_attention_dim", List.of(1280), levels);
        for (int c : crossDims)
            if (c != crossDims.get(0)) throw new IllegalArgumentException("unsupported UNet config: cross_attention_dim = " + crossDims + " (must be one value)");
        List<Integer> numHeads = n.hasNonNull("num_attention_heads") ? intList(n, "num_attention_heads", null, levels) : null;
        String addType = text(n, "addition_embed_type", null);
        return new UNetConfig(
                integer(n, "sample_size", 64), integer(n, "in_channels", 4), integer(n, "out_channels", 4),
                channels, layers.get(0),
                textList(n, "down_block_types", List.of(CROSS_DOWN, CROSS_DOWN, CROSS_DOWN, DOWN)),
                text(n, "mid_block_type", MID),
                textList(n, "up_block_types", List.of(UP, CROSS_UP, CROSS_UP, CROSS_UP)),
                intList(n, "attention_head_dim", List.of(8), levels), numHeads,
                crossDims.get(0), intList(n, "transformer_layers_per_block", List.of(1), levels),
                bool(n, "use_linear_projection", false), integer(n, "norm_num_groups", 32),
                (float) number(n, "norm_eps", 1e-5), bool(n, "flip_sin_to_cos", true), (float) number(n, "freq_shift", 0),
                addType, integer(n, "addition_time_embed_dim", 0), integer(n, "projection_class_embeddings_input_dim", 0),
                bool(n, "upcast_attention", false));
    }

    private static JsonNode field(JsonNode n, String key) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? null : v;
    }

    private static int integer(JsonNode n, String key, int dflt) {
        JsonNode v = field(n, key);
        if (v == null) return dflt;
        if (!v.canConvertToInt() || !v.isIntegralNumber()) throw new IllegalArgumentException("UNet config: " + key + " = " + v + " is not an integer");
        return v.asInt();
    }

    private static double number(JsonNode n, String key, double dflt) {
        JsonNode v = field(n, key);
        if (v == null) return dflt;
        if (!v.isNumber()) throw new IllegalArgumentException("UNet config: " + key + " = " + v + " is not a number");
        return v.asDouble();
    }

    private static boolean bool(JsonNode n, String key, boolean dflt) {
        JsonNode v = field(n, key);
        if (v == null) return dflt;
        if (!v.isBoolean()) throw new IllegalArgumentException("UNet config: " + key + " = " + v + " is not a boolean");
        return v.asBoolean();
    }

    private static String text(JsonNode n, String key, String dflt) {
        JsonNode v = field(n, key);
        if (v == null) return dflt;
        if (!v.isTextual()) throw new IllegalArgumentException("UNet config: " + key + " = " + v + " is not a string");
        return v.asText();
    }

    private static List<String> textList(JsonNode n, String key, List<String> dflt) {
        JsonNode v = field(n, key);
        if (v == null) return dflt;
        if (!v.isArray()) throw new IllegalArgumentException("UNet config: " + key + " = " + v + " is not a list");
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) throw new IllegalArgumentException("UNet config: " + key + " = " + v + " holds a non-string");
            out.add(e.asText());
        }
        return out;
    }

    /** An int or a list of ints; a single int is repeated {@code levels} times (levels -1: must be a list). */
    private static List<Integer> intList(JsonNode n, String key, List<Integer> dflt, int levels) {
        JsonNode v = field(n, key);
        List<Integer> out = new ArrayList<>();
        if (v == null) {
            if (dflt == null) throw new IllegalArgumentException("UNet config: " + key + " is missing");
            out.addAll(dflt);
        } else if (v.isArray()) {
            for (JsonNode e : v) {
                if (!e.isIntegralNumber()) throw new IllegalArgumentException("UNet config: " + key + " = " + v + " holds a non-integer");
                out.add(e.asInt());
            }
        } else if (v.isIntegralNumber()) {
            out.add(v.asInt());
        } else {
            throw new IllegalArgumentException("UNet config: " + key + " = " + v + " is neither an integer nor a list of integers");
        }
        if (levels > 0 && out.size() == 1 && (v == null || !v.isArray())) return Collections.nCopies(levels, out.get(0));
        if (levels > 0 && out.size() != levels)
            throw new IllegalArgumentException("UNet config: " + key + " = " + out + " has " + out.size() + " entries, block_out_channels has " + levels);
        return out;
    }

    // ---------------------------------------------------------------- validation

    private static void validate(int sampleSize, int inChannels, int outChannels, List<Integer> channels, int layersPerBlock,
                                 List<String> down, String mid, List<String> up, List<Integer> headDim, List<Integer> numHeads,
                                 int crossDim, List<Integer> depth, int groups, float eps,
                                 String addType, int addTimeDim, int addInputDim) {
        int levels = channels.size();
        if (levels == 0) throw new IllegalArgumentException("UNet config: block_out_channels is empty");
        positive("sample_size", sampleSize);
        positive("in_channels", inChannels);
        positive("out_channels", outChannels);
        positive("layers_per_block", layersPerBlock);
        positive("cross_attention_dim", crossDim);
        positive("norm_num_groups", groups);
        if (!(eps > 0)) throw new IllegalArgumentException("UNet config: norm_eps = " + eps + " must be > 0");
        sized("down_block_types", down, levels);
        sized("up_block_types", up, levels);
        sized("attention_head_dim", headDim, levels);
        if (numHeads != null) sized("num_attention_heads", numHeads, levels);
        sized("transformer_layers_per_block", depth, levels);
        List<Integer> heads = numHeads != null ? numHeads : headDim;
        String headsKey = numHeads != null ? "num_attention_heads" : "attention_head_dim";
        for (int i = 0; i < levels; i++) {
            int c = channels.get(i);
            positive("block_out_channels[" + i + "]", c);
            if (c % groups != 0)
                throw new IllegalArgumentException("UNet config: block_out_channels[" + i + "] = " + c + " is not divisible by norm_num_groups = " + groups);
            if (!down.get(i).equals(CROSS_DOWN) && !down.get(i).equals(DOWN))
                throw new IllegalArgumentException("unsupported UNet config: down_block_types[" + i + "] = " + down.get(i) + " (supported: " + CROSS_DOWN + ", " + DOWN + ")");
            if (!up.get(i).equals(CROSS_UP) && !up.get(i).equals(UP))
                throw new IllegalArgumentException("unsupported UNet config: up_block_types[" + i + "] = " + up.get(i) + " (supported: " + CROSS_UP + ", " + UP + ")");
            boolean attn = down.get(i).equals(CROSS_DOWN) || up.get(levels - 1 - i).equals(CROSS_UP) || i == levels - 1;
            if (attn) {
                int h = heads.get(i);
                if (h <= 0 || c % h != 0)
                    throw new IllegalArgumentException("UNet config: " + headsKey + "[" + i + "] = " + h + " heads do not divide block_out_channels[" + i + "] = " + c);
                if (depth.get(i) < 1)
                    throw new IllegalArgumentException("UNet config: transformer_layers_per_block[" + i + "] = " + depth.get(i) + " but level " + i
                            + (i == levels - 1 ? " feeds the mid block's transformer" : " has cross-attention blocks"));
            } else if (depth.get(i) < 0) {
                throw new IllegalArgumentException("UNet config: transformer_layers_per_block[" + i + "] = " + depth.get(i) + " is negative");
            }
        }
        if (!MID.equals(mid))
            throw new IllegalArgumentException("unsupported UNet config: mid_block_type = " + mid + " (supported: " + MID + ")");
        if (addType != null) {
            if (!addType.equals(TEXT_TIME))
                throw new IllegalArgumentException("unsupported UNet config: addition_embed_type = " + addType + " (supported: null, " + TEXT_TIME + ")");
            positive("addition_time_embed_dim", addTimeDim);
            if (addTimeDim % 2 != 0) throw new IllegalArgumentException("UNet config: addition_time_embed_dim = " + addTimeDim + " must be even");
            if (addInputDim <= TIME_IDS * addTimeDim)
                throw new IllegalArgumentException("UNet config: projection_class_embeddings_input_dim = " + addInputDim
                        + " leaves no room for the pooled text embedding next to " + TIME_IDS + " x " + addTimeDim + " time ids");
        }
        if (channels.get(0) % 2 != 0) throw new IllegalArgumentException("UNet config: block_out_channels[0] = " + channels.get(0) + " must be even (sinusoid width)");
    }

    private static void positive(String key, int v) {
        if (v <= 0) throw new IllegalArgumentException("UNet config: " + key + " = " + v + " must be > 0");
    }

    private static void sized(String key, List<?> l, int levels) {
        Objects.requireNonNull(l, key);
        if (l.size() != levels)
            throw new IllegalArgumentException("UNet config: " + key + " has " + l.size() + " entries, block_out_channels has " + levels);
    }
}
