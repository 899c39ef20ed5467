package dev.diffuse4j.model.clip;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.weights.ParamMapping;
import dev.diffuse4j.weights.ParamSpec;
import dev.diffuse4j.weights.ParamTransform;
import dev.diffuse4j.weights.TensorInfo;
import dev.diffuse4j.weights.TensorSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a CLIP text encoder's tensors live in a checkpoint (reference §3): transformers names under a
 * prefix (diffusers folders: none; SD1.5 single file: {@code cond_stage_model.transformer.}; SDXL single
 * file: {@code conditioner.embedders.0.transformer.}), or OpenCLIP names under a prefix (SDXL single file:
 * {@code conditioner.embedders.1.model.}), where q/k/v are rows of a fused in_proj, the projection is
 * stored transposed, and the position table is {@code positional_embedding}.
 *
 * @param prefix  every key of this component starts with it (keys outside it belong to other components)
 * @param mapping model parameter -> checkpoint key, shape and transform
 * @param openClip whether the keys use OpenCLIP names
 */
public record ClipWeightLayout(String prefix, ParamMapping mapping, boolean openClip) {
    /** A diffusers {@code text_encoder/} or {@code text_encoder_2/} folder (transformers names). */
    public static final ClipWeightLayout DIFFUSERS = transformers("");
    /** CLIP-L inside an SD1.5 single-file checkpoint. */
    public static final ClipWeightLayout SD15_SINGLE_FILE = transformers("cond_stage_model.transformer.");
    /** CLIP-L inside an SDXL single-file checkpoint. */
    public static final ClipWeightLayout SDXL_SINGLE_FILE_CLIP_L = transformers("conditioner.embedders.0.transformer.");
    /** OpenCLIP bigG inside an SDXL single-file checkpoint. */
    public static final ClipWeightLayout SDXL_SINGLE_FILE_OPENCLIP = openClip("conditioner.embedders.1.model.");

    /** Buffers and training-only scalars that checkpoints carry and the encoder does not use. */
    public boolean ignorable(String key) {
        return key.endsWith("position_ids") || key.endsWith("attn_mask") || key.endsWith("logit_scale");
    }

    public boolean belongs(String key) { return key.startsWith(prefix); }

    public static ClipWeightLayout transformers(String prefix) {
        return new ClipWeightLayout(prefix, ParamMapping.prefixed(prefix), false);
    }

    public static ClipWeightLayout openClip(String prefix) {
        return new ClipWeightLayout(prefix, p -> openClipKey(prefix, p), true);
    }

    private static final Pattern LAYER = Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\.(.+)");
    private static final Pattern QKV = Pattern.compile("self_attn\\.([qkv])_proj\\.(weight|bias)");
    private static final Map<String, String> LAYER_RENAMES = Map.of(
            "layer_norm1.", "ln_1.", "layer_norm2.", "ln_2.", "self_attn.out_proj.", "attn.out_proj.",
            "mlp.fc1.", "mlp.c_fc.", "mlp.fc2.", "mlp.c_proj.");

    private static ParamMapping.Mapped openClipKey(String prefix, ParamSpec p) {
        String name = p.name();
        int[] shape = p.shape();
        switch (name) {
            case "text_model.embeddings.token_embedding.weight": return ParamMapping.Mapped.same(prefix + "token_embedding.weight", shape);
            case "text_model.embeddings.position_embedding.weight": return ParamMapping.Mapped.same(prefix + "positional_embedding", shape);
            case "text_model.final_layer_norm.weight": return ParamMapping.Mapped.same(prefix + "ln_final.weight", shape);
            case "text_model.final_layer_norm.bias": return ParamMapping.Mapped.same(prefix + "ln_final.bias", shape);
            // OpenCLIP computes x @ text_projection, so it stores the transpose of a Linear weight.
            case "text_projection.weight":
                return new ParamMapping.Mapped(prefix + "text_projection", new int[]{shape[1], shape[0]}, ParamTransform.TRANSPOSE);
            default:
        }
        Matcher layer = LAYER.matcher(name);
        if (layer.matches()) {
            String block = prefix + "transformer.resblocks." + layer.group(1) + ".";
            String rest = layer.group(2);
            Matcher qkv = QKV.matcher(rest);
            if (qkv.matches()) {
                int part = "qkv".indexOf(qkv.group(1));
                boolean weight = qkv.group(2).equals("weight");
                int[] fused = weight ? new int[]{3 * shape[0], shape[1]} : new int[]{3 * shape[0]};
                return new ParamMapping.Mapped(block + "attn.in_proj_" + qkv.group(2), fused, ParamTransform.rows(part));
            }
            for (var e : LAYER_RENAMES.entrySet())
                if (rest.startsWith(e.getKey())) return ParamMapping.Mapped.same(block + e.getValue() + rest.substring(e.getKey().length()), shape);
        }
        throw new IllegalArgumentException("no OpenCLIP checkpoint key for CLIP parameter " + p);
    }

    /**
     * The checkpoint tensors (key, stored shape) this layout reads for the given parameters, each once, in
     * parameter order: what a checkpoint must hold, or what a weight generator must produce.
     */
    public List<TensorInfo> sourceTensors(List<ParamSpec> params, DType dtype) {
        Map<String, TensorInfo> out = new LinkedHashMap<>();
        for (ParamSpec p : params) {
            ParamMapping.Mapped m = mapping.map(p);
            out.putIfAbsent(m.sourceKey(), new TensorInfo(m.sourceKey(), dtype, m.sourceShape()));
        }
        return new ArrayList<>(out.values());
    }

    private static final Pattern LAYER_INDEX = Pattern.compile("(?:text_model\\.encoder\\.layers|transformer\\.resblocks)\\.(\\d+)\\.");

    /**
     * Reads the shape of the encoder from the checkpoint: vocabulary, width and positions from the
     * embeddings, layers by counting them, MLP width from the first layer. What shapes cannot tell is
     * taken from the known models: quick_gelu for OpenAI CLIP (transformers names), exact GELU for
     * OpenCLIP, the last vocabulary id as end-of-text (49407 in CLIP's vocabulary, 257 with
     * {@code ByteLevelTokenizer}), pad 0 for OpenCLIP and end-of-text otherwise.
     *
     * @param headDim width of one attention head (64 in CLIP-L and bigG), which shapes cannot tell
     */
    public ClipTextConfig inferConfig(TensorSource source, int headDim) {
        String token = prefix + (openClip ? "token_embedding.weight" : "text_model.embeddings.token_embedding.weight");
        String position = prefix + (openClip ? "positional_embedding" : "text_model.embeddings.position_embedding.weight");
        String fc1 = prefix + (openClip ? "transformer.resblocks.0.mlp.c_fc.weight" : "text_model.encoder.layers.0.mlp.fc1.weight");
        String projection = prefix + (openClip ? "text_projection" : "text_projection.weight");
        for (String k : List.of(token, position, fc1))
            if (!source.contains(k)) throw new IllegalArgumentException(source.describe() + " has no " + k + ": not a CLIP text encoder under \"" + prefix + "\"");
        int[] tok = source.info(token).shape();
        int[] pos = source.info(position).shape();
        int[] mlp = source.info(fc1).shape();
        TreeSet<Integer> layers = new TreeSet<>();
        for (String k : source.keys()) {
            if (!k.startsWith(prefix)) continue;
            Matcher m = LAYER_INDEX.matcher(k.substring(prefix.length()));
            if (m.lookingAt()) layers.add(Integer.parseInt(m.group(1)));
        }
        if (layers.isEmpty() || layers.last() != layers.size() - 1)
            throw new IllegalArgumentException(source.describe() + ": encoder layer indices under \"" + prefix + "\" are not 0..n-1: " + layers);
        int hidden = tok[1];
        if (headDim <= 0 || hidden % headDim != 0)
            throw new IllegalArgumentException(source.describe() + ": head width " + headDim + " does not divide the hidden size " + hidden + " of " + token);
        boolean withProjection = source.contains(projection);
        int projectionDim = withProjection ? source.info(projection).shape()[openClip ? 1 : 0] : hidden;
        int eos = tok[0] - 1;
        return new ClipTextConfig(tok[0], hidden, mlp[0], hidden / headDim, layers.size(), pos[0],
                openClip ? ClipActivation.GELU : ClipActivation.QUICK_GELU, 1e-5f, withProjection, projectionDim,
                eos, openClip ? 0 : eos);
    }
}
