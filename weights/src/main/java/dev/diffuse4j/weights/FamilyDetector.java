package dev.diffuse4j.weights;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * Recognises SD1.5 and SDXL base from what distinguishes them: the UNet's cross-attention context
 * width (768 vs 2048) and SDXL's extra "text_time" embedding (label_emb / add_embedding, 2816 inputs:
 * 1280 pooled text + 6 x 256 size/crop features), and the text encoders present.
 */
final class FamilyDetector {
    static final int SD15_CONTEXT = 768;
    static final int SDXL_CONTEXT = 2048;
    static final int SDXL_ADM_INPUTS = 2816;

    private static final String UNET = "model.diffusion_model.";
    private static final String LABEL_EMB = UNET + "label_emb.0.0.weight";

    private FamilyDetector() {}

    /** From a single-file checkpoint's keys and shapes. */
    static ModelFamily.Detection fromSingleFile(TensorSource file) {
        Integer context = null;
        boolean unet = false, clipL15 = false, clipLxl = false, bigG = false;
        for (String k : file.keys()) {
            if (k.startsWith(UNET)) {
                unet = true;
                if (context == null && k.endsWith(".attn2.to_k.weight")) {
                    int[] s = file.info(k).shape();
                    if (s.length == 2) context = s[1];
                }
            } else if (k.startsWith("cond_stage_model.transformer.")) clipL15 = true;
            else if (k.startsWith("conditioner.embedders.0.transformer.")) clipLxl = true;
            else if (k.startsWith("conditioner.embedders.1.model.")) bigG = true;
        }
        Integer adm = file.contains(LABEL_EMB) && file.info(LABEL_EMB).shape().length == 2 ? file.info(LABEL_EMB).shape()[1] : null;

        List<String> facts = new ArrayList<>();
        if (unet) facts.add("UNet context dim " + (context == null ? "unknown (no attn2.to_k)" : context)
                + ", " + (adm == null ? "no label_emb" : "label_emb input " + adm));
        if (clipL15) facts.add("CLIP-L at cond_stage_model.transformer");
        if (clipLxl) facts.add("CLIP-L at conditioner.embedders.0");
        if (bigG) facts.add("OpenCLIP bigG at conditioner.embedders.1");
        String evidence = facts.isEmpty() ? "no UNet or text encoder keys" : String.join("; ", facts);

        if (unet) {
            if (context != null && context == SDXL_CONTEXT && adm != null && adm == SDXL_ADM_INPUTS)
                return new ModelFamily.Detection(ModelFamily.SDXL_BASE, evidence);
            if (context != null && context == SD15_CONTEXT && adm == null && !bigG)
                return new ModelFamily.Detection(ModelFamily.SD15, evidence);
            return new ModelFamily.Detection(ModelFamily.UNKNOWN, evidence + unknownHint());
        }
        if (bigG && clipLxl) return new ModelFamily.Detection(ModelFamily.SDXL_BASE, evidence + "; no UNet");
        if (clipL15 && !bigG) return new ModelFamily.Detection(ModelFamily.SD15, evidence + "; no UNet");
        return new ModelFamily.Detection(ModelFamily.UNKNOWN, evidence);
    }

    /** From a diffusers folder's unet/config.json (null when the folder has no UNet). */
    static ModelFamily.Detection fromDiffusers(JsonNode modelIndex, JsonNode unetConfig) {
        String pipeline = modelIndex.path("_class_name").asText("?");
        if (unetConfig == null) return new ModelFamily.Detection(ModelFamily.UNKNOWN, pipeline + ", no unet/config.json");
        JsonNode cad = unetConfig.path("cross_attention_dim");
        Integer context = cad.isIntegralNumber() ? Integer.valueOf(cad.intValue())
                : cad.isArray() && !cad.isEmpty() && cad.get(0).isIntegralNumber() ? Integer.valueOf(cad.get(0).intValue()) : null;
        String addType = unetConfig.path("addition_embed_type").isTextual() ? unetConfig.get("addition_embed_type").textValue() : null;
        JsonNode proj = unetConfig.path("projection_class_embeddings_input_dim");
        Integer adm = proj.isIntegralNumber() ? proj.intValue() : null;
        String evidence = pipeline + ", unet cross_attention_dim " + (context == null ? "missing" : context)
                + ", addition_embed_type " + (addType == null ? "none" : addType)
                + (adm == null ? "" : ", projection_class_embeddings_input_dim " + adm);
        if (context != null && context == SDXL_CONTEXT && "text_time".equals(addType) && adm != null && adm == SDXL_ADM_INPUTS)
            return new ModelFamily.Detection(ModelFamily.SDXL_BASE, evidence);
        if (context != null && context == SD15_CONTEXT && addType == null)
            return new ModelFamily.Detection(ModelFamily.SD15, evidence);
        return new ModelFamily.Detection(ModelFamily.UNKNOWN, evidence + unknownHint());
    }

    private static String unknownHint() {
        return "; SD1.5 has context 768 and no text_time embedding, SDXL base 2048 and 2816 (SD 2.x uses 1024, the SDXL refiner 1280)";
    }
}
