package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.clip.ClipActivation;
import dev.diffuse4j.model.clip.ClipTextConfig;
import dev.diffuse4j.model.clip.ClipTextModel;
import dev.diffuse4j.model.clip.ClipWeightLayout;
import dev.diffuse4j.model.unet.LdmUNetMapping;
import dev.diffuse4j.model.unet.UNet2DConditionModel;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.vae.AutoencoderKL;
import dev.diffuse4j.model.vae.LdmVaeMapping;
import dev.diffuse4j.model.vae.VaeConfig;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.weights.DeterministicWeights;
import dev.diffuse4j.weights.ParamSpec;
import dev.diffuse4j.weights.SafetensorsWriter;
import dev.diffuse4j.weights.TensorInfo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes tiny but complete SD1.5-style checkpoints with the project's own safetensors writer: a
 * diffusers folder (model_index, configs, weights, tokenizer, scheduler) and a single LDM file.
 * Weights follow the deterministic rule over each file's own key names.
 */
final class TinyCheckpoints {
    static final int CONTEXT = 32;

    /** UNet as the goldens' tiny SD1.5 UNet, with a given context width. */
    static UNetConfig unet(int context) {
        UNetConfig t = UNetConfig.TINY_SD15;
        return new UNetConfig(8, 4, 4, t.blockOutChannels(), t.layersPerBlock(), t.downBlockTypes(), t.midBlockType(), t.upBlockTypes(),
                t.attentionHeadDim(), t.numAttentionHeads(), context, t.transformerLayersPerBlock(), false, 32, 1e-5f, true, 0f, null, 0, 0, false);
    }

    static final VaeConfig VAE = new VaeConfig(3, 3, 4, List.of(32, 32, 32, 32), 1, 32, 64, 0.18215f, true, true, true, true);

    static ClipTextConfig clip(int vocab, int hidden, int heads) {
        return new ClipTextConfig(vocab, hidden, 64, heads, 1, 77, ClipActivation.QUICK_GELU, 1e-5f, false, hidden, vocab - 1, vocab - 1);
    }

    /** vocab.json: 256 byte symbols, the same with "</w>", two merges, then the specials: 518 entries. */
    static int writeTokenizer(Path dir) throws IOException {
        Files.createDirectories(dir);
        List<String> symbols = byteSymbols();
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (String s : symbols) vocab.put(s, vocab.size());
        for (String s : symbols) vocab.put(s + "</w>", vocab.size());
        vocab.put("th", vocab.size());
        vocab.put("the</w>", vocab.size());
        vocab.put("<|startoftext|>", vocab.size());
        vocab.put("<|endoftext|>", vocab.size());
        StringBuilder json = new StringBuilder("{");
        vocab.forEach((k, v) -> json.append(json.length() > 1 ? "," : "").append('"').append(escape(k)).append("\":").append(v));
        Files.writeString(dir.resolve("vocab.json"), json.append('}').toString(), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\nt h\nth e</w>\n", StandardCharsets.UTF_8);
        return vocab.size();
    }

    static void writeDiffusers(Path root, boolean fp16) throws IOException {
        int vocab = writeTokenizer(root.resolve("tokenizer"));
        ClipTextConfig clip = clip(vocab, CONTEXT, 2);
        UNetConfig unet = unet(CONTEXT);
        Files.writeString(root.resolve("model_index.json"), """
                {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.30.0",
                 "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
                 "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
                 "scheduler": ["diffusers", "DDIMScheduler"]}""");
        write(root.resolve("unet"), "diffusion_pytorch_model", fp16, """
                {"_class_name": "UNet2DConditionModel", "sample_size": 8, "in_channels": 4, "out_channels": 4,
                 "block_out_channels": [32, 64], "layers_per_block": 2,
                 "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
                 "mid_block_type": "UNetMidBlock2DCrossAttn", "attention_head_dim": 2, "cross_attention_dim": %d,
                 "norm_num_groups": 32, "norm_eps": 1e-5}""".formatted(CONTEXT),
                infos(UNet2DConditionModel.parameters(unet)));
        write(root.resolve("vae"), "diffusion_pytorch_model", fp16, """
                {"_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3, "latent_channels": 4,
                 "block_out_channels": [32, 32, 32, 32], "layers_per_block": 1, "norm_num_groups": 32, "sample_size": 64,
                 "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
                 "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
                 "scaling_factor": 0.18215}""",
                infos(AutoencoderKL.parameters(VAE, AutoencoderKL.Part.BOTH)));
        write(root.resolve("text_encoder"), "model", fp16, """
                {"architectures": ["CLIPTextModel"], "vocab_size": %d, "hidden_size": %d, "intermediate_size": 64,
                 "num_attention_heads": 2, "num_hidden_layers": 1, "max_position_embeddings": 77, "hidden_act": "quick_gelu",
                 "layer_norm_eps": 1e-5, "bos_token_id": %d, "eos_token_id": %d, "pad_token_id": %d}"""
                        .formatted(vocab, CONTEXT, vocab - 2, vocab - 1, vocab - 1),
                ClipWeightLayout.DIFFUSERS.sourceTensors(ClipTextModel.parameters(clip), DType.F32));
        Files.createDirectories(root.resolve("scheduler"));
        Files.writeString(root.resolve("scheduler/scheduler_config.json"), """
                {"_class_name": "DDIMScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
                 "num_train_timesteps": 1000, "set_alpha_to_one": false, "steps_offset": 1, "clip_sample": false}""");
    }

    /** One LDM-layout file; SD1.5-shaped where the family detector looks (768-wide context). */
    static void writeSingleFile(Path file, Path tokenizerDir) throws IOException {
        int vocab = writeTokenizer(tokenizerDir);
        UNetConfig unet = unet(768);
        List<TensorInfo> all = new ArrayList<>(LdmUNetMapping.checkpointTensors(unet, LdmUNetMapping.PREFIX));
        all.addAll(LdmVaeMapping.checkpointTensors(VAE, AutoencoderKL.Part.BOTH, LdmVaeMapping.PREFIX));
        all.addAll(ClipWeightLayout.SD15_SINGLE_FILE.sourceTensors(ClipTextModel.parameters(clip(vocab, 768, 12)), DType.F32));
        try (DeterministicWeights w = new DeterministicWeights(all)) {
            SafetensorsWriter.write(file, w, DType.F32, Map.of("format", "pt"));
        }
    }

    private static void write(Path dir, String base, boolean fp16, String config, List<TensorInfo> infos) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), config);
        try (DeterministicWeights w = new DeterministicWeights(infos)) {
            SafetensorsWriter.write(dir.resolve(base + (fp16 ? ".fp16" : "") + ".safetensors"), w, fp16 ? DType.F16 : DType.F32, Map.of("format", "pt"));
        }
    }

    private static List<TensorInfo> infos(List<ParamSpec> specs) {
        List<TensorInfo> out = new ArrayList<>();
        for (ParamSpec p : specs) out.add(new TensorInfo(p.name(), DType.F32, p.shape()));
        return out;
    }

    /** GPT-2's bytes_to_unicode, in rank order: printable bytes map to themselves, the rest to 256+n. */
    static List<String> byteSymbols() {
        List<Integer> bs = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) bs.add(b);
        for (int b = 0xA1; b <= 0xAC; b++) bs.add(b);
        for (int b = 0xAE; b <= 0xFF; b++) bs.add(b);
        List<String> out = new ArrayList<>();
        for (int b : bs) out.add(String.valueOf((char) b));
        int n = 0;
        for (int b = 0; b < 256; b++) if (!bs.contains(b)) out.add(String.valueOf((char) (256 + n++)));
        return out;
    }

    private static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20 || c > 0x7E) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.toString();
    }
}
