package dev.diffuse4j.weights;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Small checkpoints written with {@link SafetensorsWriter}: real key names and the shapes that tell
 * the families apart (context width, label_emb inputs), everything else tiny. Values follow the
 * deterministic rule, so a test can check any tensor it reads back.
 */
final class Fixtures {
    private Fixtures() {}

    static TensorInfo t(String key, int... shape) { return new TensorInfo(key, DType.F32, shape); }

    /** UNet keys in LDM naming with the given cross-attention context width and optional label_emb inputs. */
    static List<TensorInfo> ldmUnet(int context, int admInputs) {
        String p = "model.diffusion_model.";
        List<TensorInfo> l = new ArrayList<>(List.of(
                t(p + "input_blocks.0.0.weight", 8, 4, 3, 3), t(p + "input_blocks.0.0.bias", 8),
                t(p + "time_embed.0.weight", 16, 8), t(p + "time_embed.0.bias", 16),
                t(p + "input_blocks.1.1.norm.weight", 8), t(p + "input_blocks.1.1.norm.bias", 8),
                t(p + "input_blocks.1.1.transformer_blocks.0.attn2.to_q.weight", 8, 8),
                t(p + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", 8, context),
                t(p + "input_blocks.1.1.transformer_blocks.0.attn2.to_v.weight", 8, context),
                t(p + "output_blocks.11.0.skip_connection.weight", 8, 16, 1, 1),
                t(p + "out.0.weight", 8), t(p + "out.0.bias", 8), t(p + "out.2.weight", 4, 8, 3, 3)));
        if (admInputs > 0) {
            l.add(t(p + "label_emb.0.0.weight", 16, admInputs));
            l.add(t(p + "label_emb.0.0.bias", 16));
        }
        return l;
    }

    static List<TensorInfo> ldmVae() {
        String p = "first_stage_model.";
        return List.of(t(p + "encoder.conv_in.weight", 4, 3, 3, 3), t(p + "decoder.conv_out.weight", 3, 4, 3, 3),
                t(p + "decoder.mid.attn_1.q.weight", 4, 4, 1, 1), t(p + "quant_conv.weight", 8, 8, 1, 1));
    }

    static List<TensorInfo> clipL(String prefix) {
        return List.of(t(prefix + "text_model.embeddings.token_embedding.weight", 10, 768),
                t(prefix + "text_model.encoder.layers.0.self_attn.q_proj.weight", 768, 768),
                t(prefix + "text_model.final_layer_norm.weight", 768), t(prefix + "text_model.final_layer_norm.bias", 768));
    }

    static List<TensorInfo> bigG() {
        String p = "conditioner.embedders.1.model.";
        return List.of(t(p + "positional_embedding", 77, 16), t(p + "transformer.resblocks.0.attn.in_proj_weight", 48, 16),
                t(p + "transformer.resblocks.9.mlp.c_proj.bias", 16), t(p + "text_projection", 16, 16));
    }

    static List<TensorInfo> sd15() {
        List<TensorInfo> l = new ArrayList<>(ldmUnet(768, 0));
        l.addAll(ldmVae());
        l.addAll(clipL("cond_stage_model.transformer."));
        return l;
    }

    static List<TensorInfo> sdxl() {
        List<TensorInfo> l = new ArrayList<>(ldmUnet(2048, 2816));
        l.addAll(ldmVae());
        l.addAll(clipL("conditioner.embedders.0.transformer."));
        l.addAll(bigG());
        return l;
    }

    /** Writes the deterministic weights of {@code infos} (plus {@code extra} tensors, which are closed) to a file. */
    static Path write(Path file, List<TensorInfo> infos, DType floatsAs, Map<String, Tensor> extra) {
        Map<String, Tensor> all = new LinkedHashMap<>();
        try (DeterministicWeights w = new DeterministicWeights(infos)) {
            for (String k : w.keys()) all.put(k, w.tensor(k));
            all.putAll(extra);
            Path tmp = file.resolveSibling(file.getFileName() + ".f32");
            SafetensorsWriter.write(tmp, all, Map.of("format", "pt"));
            try (SafetensorsFile f = SafetensorsFile.open(tmp)) {
                SafetensorsWriter.write(file, f, floatsAs, Map.of("format", "pt"));
            }
            Files.delete(tmp);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            all.values().forEach(Tensor::close);
        }
    }

    static Path write(Path file, List<TensorInfo> infos) { return write(file, infos, null, Map.of()); }

    static void text(Path file, String content) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** diffusers-named UNet keys (tiny; family comes from config.json). */
    static List<TensorInfo> diffusersUnet() {
        return List.of(t("conv_in.weight", 8, 4, 3, 3), t("conv_in.bias", 8), t("time_embedding.linear_1.weight", 16, 8),
                t("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight", 8, 12), t("conv_norm_out.weight", 8),
                t("conv_norm_out.bias", 8), t("conv_out.weight", 4, 8, 3, 3));
    }

    static List<TensorInfo> diffusersVae() {
        return List.of(t("encoder.conv_in.weight", 4, 3, 3, 3), t("decoder.conv_out.weight", 3, 4, 3, 3),
                t("encoder.mid_block.attentions.0.to_q.weight", 4, 4));
    }

    static List<TensorInfo> diffusersText() {
        return List.of(t("text_model.embeddings.token_embedding.weight", 10, 8), t("text_model.final_layer_norm.weight", 8),
                t("text_model.final_layer_norm.bias", 8));
    }

    static final String SD15_UNET_CONFIG = "{\"_class_name\":\"UNet2DConditionModel\",\"cross_attention_dim\":768,\"in_channels\":4}";
    static final String SDXL_UNET_CONFIG = "{\"_class_name\":\"UNet2DConditionModel\",\"cross_attention_dim\":2048,"
            + "\"addition_embed_type\":\"text_time\",\"projection_class_embeddings_input_dim\":2816}";

    /**
     * A diffusers pipeline folder: model_index.json, unet/vae/text_encoder(+_2)/tokenizer/scheduler.
     * {@code fp32}/{@code fp16} choose which weight variants to write.
     */
    static Path diffusersFolder(Path root, boolean sdxl, boolean fp32, boolean fp16) {
        StringBuilder index = new StringBuilder("{\"_class_name\":\"" + (sdxl ? "StableDiffusionXLPipeline" : "StableDiffusionPipeline") + "\","
                + "\"_diffusers_version\":\"0.30.0\",\"unet\":[\"diffusers\",\"UNet2DConditionModel\"],\"vae\":[\"diffusers\",\"AutoencoderKL\"],"
                + "\"text_encoder\":[\"transformers\",\"CLIPTextModel\"],\"tokenizer\":[\"transformers\",\"CLIPTokenizer\"],"
                + "\"scheduler\":[\"diffusers\",\"EulerDiscreteScheduler\"],\"safety_checker\":[null,null]");
        if (sdxl) index.append(",\"text_encoder_2\":[\"transformers\",\"CLIPTextModelWithProjection\"],\"tokenizer_2\":[\"transformers\",\"CLIPTokenizer\"],"
                + "\"force_zeros_for_empty_prompt\":true");
        text(root.resolve("model_index.json"), index.append("}").toString());
        text(root.resolve("unet/config.json"), sdxl ? SDXL_UNET_CONFIG : SD15_UNET_CONFIG);
        text(root.resolve("vae/config.json"), "{\"_class_name\":\"AutoencoderKL\",\"scaling_factor\":0.18215}");
        text(root.resolve("text_encoder/config.json"), "{\"hidden_size\":768}");
        text(root.resolve("tokenizer/tokenizer_config.json"), "{\"model_max_length\":77}");
        text(root.resolve("scheduler/scheduler_config.json"), "{\"_class_name\":\"EulerDiscreteScheduler\",\"num_train_timesteps\":1000}");
        if (sdxl) {
            text(root.resolve("text_encoder_2/config.json"), "{\"hidden_size\":1280}");
            text(root.resolve("tokenizer_2/tokenizer_config.json"), "{\"model_max_length\":77}");
        }
        Map<String, List<TensorInfo>> weights = new LinkedHashMap<>();
        weights.put("unet/diffusion_pytorch_model", diffusersUnet());
        weights.put("vae/diffusion_pytorch_model", diffusersVae());
        weights.put("text_encoder/model", diffusersText());
        if (sdxl) weights.put("text_encoder_2/model", diffusersText());
        for (Map.Entry<String, List<TensorInfo>> e : weights.entrySet()) {
            if (fp32) write(root.resolve(e.getKey() + ".safetensors"), e.getValue());
            if (fp16) write(root.resolve(e.getKey() + ".fp16.safetensors"), e.getValue(), DType.F16, Map.of());
        }
        return root;
    }

    /** Splits a written component file into two shards plus an index named for the variant ("" or "fp16"). */
    static Path shard(Path single, String variant) {
        Path dir = single.getParent();
        String base = single.getFileName().toString().replace(".fp16.safetensors", "").replace(".safetensors", "");
        String tag = variant.isEmpty() ? "" : "." + variant;
        Map<String, String> weightMap = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(single)) {
            List<String> keys = new ArrayList<>(f.keys());
            List<List<String>> parts = List.of(keys.subList(0, keys.size() / 2), keys.subList(keys.size() / 2, keys.size()));
            for (int s = 0; s < 2; s++) {
                String name = base + tag + "-0000" + (s + 1) + "-of-00002.safetensors";
                Map<String, Tensor> part = new LinkedHashMap<>();
                for (String k : parts.get(s)) {
                    part.put(k, f.tensor(k));
                    weightMap.put(k, name);
                }
                SafetensorsWriter.write(dir.resolve(name), part, Map.of());
                part.values().forEach(Tensor::close);
            }
        }
        StringBuilder json = new StringBuilder("{\"metadata\":{\"total_size\":0},\"weight_map\":{");
        int i = 0;
        for (Map.Entry<String, String> e : weightMap.entrySet())
            json.append(i++ == 0 ? "" : ",").append('"').append(e.getKey()).append("\":\"").append(e.getValue()).append('"');
        Path index = dir.resolve(base + ".safetensors.index" + tag + ".json");
        text(index, json.append("}}").toString());
        try {
            Files.delete(single);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return index;
    }
}
