package dev.diffuse4j.model.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A CLIP text encoder's shape (transformers CLIPTextConfig; reference §1.4).
 *
 * @param vocabSize         token embedding rows
 * @param hiddenSize        width D
 * @param intermediateSize  MLP width
 * @param numHeads          attention heads (must divide D)
 * @param numLayers         encoder layers
 * @param maxPositions      position embedding rows (the longest sequence)
 * @param activation        MLP activation
 * @param layerNormEps      epsilon of every LayerNorm
 * @param withProjection    whether the model has {@code text_projection} (CLIPTextModelWithProjection)
 * @param projectionDim     output width of text_projection
 * @param eosTokenId        end-of-text id, which marks the pooled position; the legacy value 2 means
 *                          "the position of the largest id", as transformers does for old configs
 * @param padTokenId        pad id (informational: SD pipelines pass no attention mask)
 */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHeads, int numLayers,
                             int maxPositions, ClipActivation activation, float layerNormEps, boolean withProjection,
                             int projectionDim, int eosTokenId, int padTokenId) {
    /** CLIP ViT-L/14 text encoder: SD1.5 {@code text_encoder} and SDXL {@code text_encoder}. */
    public static final ClipTextConfig CLIP_L =
            new ClipTextConfig(49408, 768, 3072, 12, 12, 77, ClipActivation.QUICK_GELU, 1e-5f, false, 768, 49407, 49407);

    /** OpenCLIP ViT-bigG/14 text tower with projection: SDXL {@code text_encoder_2}. */
    public static final ClipTextConfig OPENCLIP_BIGG =
            new ClipTextConfig(49408, 1280, 5120, 20, 32, 77, ClipActivation.GELU, 1e-5f, true, 1280, 49407, 0);

    /** The transformers eos_token_id of configs written before the real id was stored. */
    public static final int LEGACY_EOS_TOKEN_ID = 2;

    public ClipTextConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_attention_heads", numHeads);
        positive("num_hidden_layers", numLayers);
        positive("max_position_embeddings", maxPositions);
        if (withProjection) positive("projection_dim", projectionDim);
        if (hiddenSize % numHeads != 0)
            throw new IllegalArgumentException("num_attention_heads " + numHeads + " does not divide hidden_size " + hiddenSize);
        if (activation == null) throw new IllegalArgumentException("hidden_act is missing");
        if (!(layerNormEps > 0) || !Float.isFinite(layerNormEps))
            throw new IllegalArgumentException("layer_norm_eps " + layerNormEps + " must be a positive number");
        if (eosTokenId < 0 || eosTokenId >= vocabSize)
            throw new IllegalArgumentException("eos_token_id " + eosTokenId + " is outside the vocabulary of " + vocabSize);
    }

    private static void positive(String field, int v) {
        if (v <= 0) throw new IllegalArgumentException(field + " " + v + " must be positive");
    }

    public int headDim() { return hiddenSize / numHeads; }

    /** Parameter count (with the projection when present). */
    public long parameterCount() {
        long d = hiddenSize, f = intermediateSize;
        long layer = 4 * (d * d + d) + 2 * (d * f) + f + d + 4 * d;
        return (long) vocabSize * d + (long) maxPositions * d + numLayers * layer + 2 * d + (withProjection ? (long) projectionDim * d : 0);
    }

    /** A copy with another vocabulary size (tiny test models with a byte-level tokenizer). */
    public ClipTextConfig withVocabSize(int v) {
        return new ClipTextConfig(v, hiddenSize, intermediateSize, numHeads, numLayers, maxPositions, activation,
                layerNormEps, withProjection, projectionDim, Math.min(eosTokenId, v - 1), padTokenId);
    }

    /** A copy with other special ids. */
    public ClipTextConfig withTokenIds(int eos, int pad) {
        return new ClipTextConfig(vocabSize, hiddenSize, intermediateSize, numHeads, numLayers, maxPositions, activation,
                layerNormEps, withProjection, projectionDim, eos, pad);
    }

    /** Reads a transformers {@code config.json} (text_encoder/ or text_encoder_2/ of a diffusers folder). */
    public static ClipTextConfig read(Path configJson) throws IOException {
        JsonNode root = new ObjectMapper().readTree(configJson.toFile());
        try {
            return fromJson(root);
        } catch (IllegalArgumentException e) {
            throw new IOException(configJson + ": " + e.getMessage(), e);
        }
    }

    /**
     * From the JSON of a transformers CLIPTextConfig; missing keys take transformers' defaults. A
     * {@code text_config} object (a full CLIPConfig) is used when present. The projection is there when
     * {@code architectures} names CLIPTextModelWithProjection.
     */
    public static ClipTextConfig fromJson(JsonNode root) {
        JsonNode c = root.has("text_config") && root.get("text_config").isObject() ? root.get("text_config") : root;
        boolean withProjection = false;
        for (JsonNode a : root.path("architectures")) withProjection |= a.asText().equals("CLIPTextModelWithProjection");
        return new ClipTextConfig(
                intField(c, "vocab_size", 49408),
                intField(c, "hidden_size", 512),
                intField(c, "intermediate_size", 2048),
                intField(c, "num_attention_heads", 8),
                intField(c, "num_hidden_layers", 12),
                intField(c, "max_position_embeddings", 77),
                ClipActivation.fromConfigName(c.path("hidden_act").asText("quick_gelu")),
                (float) doubleField(c, "layer_norm_eps", 1e-5),
                withProjection,
                intField(c, "projection_dim", 512),
                intField(c, "eos_token_id", 49407),
                intField(c, "pad_token_id", 1));
    }

    private static int intField(JsonNode c, String name, int dflt) {
        JsonNode n = c.get(name);
        if (n == null || n.isNull()) return dflt;
        if (!n.canConvertToInt() || (n.isFloatingPointNumber() && n.asDouble() != Math.rint(n.asDouble())))
            throw new IllegalArgumentException(name + " " + n + " is not an integer");
        return n.asInt();
    }

    private static double doubleField(JsonNode c, String name, double dflt) {
        JsonNode n = c.get(name);
        if (n == null || n.isNull()) return dflt;
        if (!n.isNumber()) throw new IllegalArgumentException(name + " " + n + " is not a number");
        return n.asDouble();
    }
}
