package dev.diffuse4j.model.clip;

import com.fasterxml.jackson.databind.JsonNode;
import dev.diffuse4j.model.goldens.Comparison;
import dev.diffuse4j.model.goldens.GoldenCase;
import dev.diffuse4j.model.goldens.GoldenCaseRunner;
import dev.diffuse4j.model.goldens.GoldenWeights;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.weights.SafetensorsFile;
import dev.diffuse4j.weights.TensorInfo;
import dev.diffuse4j.weights.TensorSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Golden kinds "clip_text" (CLIP ViT-L/14, single-file LDM keys) and "openclip_text" (OpenCLIP bigG, SGM
 * keys): the encoder is loaded through its single-file layout over the case's weights (the deterministic
 * rule generated for exactly the keys that layout reads, see {@link GoldenWeights}), run on the case's
 * input ids, and every output is
 * compared with the case's tolerances. clip_text also checks the pooled positions against
 * {@code input.eos_position} (exact).
 */
public final class ClipGoldenRunner implements GoldenCaseRunner {
    @Override
    public Set<String> kinds() { return Set.of("clip_text", "openclip_text"); }

    @Override
    public List<Comparison> run(GoldenCase c, Device device) throws Exception {
        boolean openClip = c.kind().equals("openclip_text");
        ClipTextConfig config = openClip ? ClipTextConfig.OPENCLIP_BIGG : ClipTextConfig.CLIP_L;
        checkShape(c, config);
        ClipWeightLayout layout = layout(c, openClip);
        List<TensorInfo> keys = layout.sourceTensors(ClipTextModel.parameters(config), DType.F32);

        try (SafetensorsFile io = SafetensorsFile.open(dataFile(c));
             TensorSource weights = GoldenWeights.open(c, keys);
             ClipTextModel model = ClipTextModel.load(config, weights, layout, device);
             Tensor ids = io.tensor("input.input_ids");
             ClipTextOutput out = model.forward(ids, -2)) {
            double tolAbs = c.tolMaxAbs(), tolRel = c.tolRelL2();
            List<Comparison> result = new ArrayList<>();
            if (openClip) {
                result.add(compare(io, "output.penultimate_hidden_state", out.hiddenState(-2), tolAbs, tolRel));
                result.add(compare(io, "output.pooled_projected", out.textEmbeds(), tolAbs, tolRel));
            } else {
                result.add(compare(io, "output.last_hidden_state", out.lastHiddenState(), tolAbs, tolRel));
                result.add(compare(io, "output.penultimate_hidden_state", out.hiddenState(-2), tolAbs, tolRel));
                result.add(compare(io, "output.pooled", out.pooled(), tolAbs, tolRel));
            }
            if (io.contains("input.eos_position")) {
                try (Tensor eos = io.tensor("input.eos_position")) {
                    long[] expected = eos.toLongArray();
                    int[] got = out.eosPositions();
                    int wrong = 0;
                    for (int i = 0; i < Math.max(expected.length, got.length); i++)
                        if (i >= expected.length || i >= got.length || expected[i] != got[i]) wrong++;
                    result.add(new Comparison("input.eos_position", wrong, wrong == 0 ? 0 : 1, 0, 0));
                }
            }
            return result;
        }
    }

    /** The layout for the case's key prefix ("cond_stage_model.transformer.text_model." names transformers keys). */
    private static ClipWeightLayout layout(GoldenCase c, boolean openClip) {
        String prefix = c.json().path("weights").path("prefix").asText();
        if (prefix.isEmpty()) throw new IllegalArgumentException(c.name() + ": the case gives no weights.prefix");
        if (openClip) return ClipWeightLayout.openClip(prefix);
        String textModel = "text_model.";
        if (!prefix.endsWith(textModel))
            throw new IllegalArgumentException(c.name() + ": expected a transformers prefix ending in \"text_model.\", got \"" + prefix + "\"");
        return ClipWeightLayout.transformers(prefix.substring(0, prefix.length() - textModel.length()));
    }

    private static Path dataFile(GoldenCase c) {
        for (JsonNode f : c.json().path("files"))
            if (f.asText().endsWith(".safetensors")) return c.file(f.asText());
        throw new IllegalArgumentException(c.name() + ": the case lists no .safetensors file: " + c.json().path("files"));
    }

    /** The preset must be the shape the case describes. */
    private static void checkShape(GoldenCase c, ClipTextConfig config) {
        JsonNode d = c.json().path("diffusers_style");
        int[][] pairs = {
                {d.path("vocab_size").asInt(config.vocabSize()), config.vocabSize()},
                {d.path("hidden_size").asInt(config.hiddenSize()), config.hiddenSize()},
                {d.path("intermediate_size").asInt(config.intermediateSize()), config.intermediateSize()},
                {d.path("num_hidden_layers").asInt(config.numLayers()), config.numLayers()},
                {d.path("num_attention_heads").asInt(config.numHeads()), config.numHeads()},
                {d.path("max_position_embeddings").asInt(config.maxPositions()), config.maxPositions()}};
        for (int[] p : pairs)
            if (p[0] != p[1]) throw new IllegalArgumentException(c.name() + ": the case describes " + d + ", which is not " + config);
    }

    private static Comparison compare(SafetensorsFile io, String key, Tensor got, double tolAbs, double tolRel) {
        try (Tensor expected = io.tensor(key);
             Tensor host = got.device().isCpu() ? got.share() : Ops.to(got, Device.CPU)) {
            if (!java.util.Arrays.equals(expected.shape(), host.shape()))
                throw new IllegalStateException(key + ": got " + host.describe() + ", expected " + expected.describe());
            return Comparison.of(key, host.toFloatArray(), expected.toFloatArray(), tolAbs, tolRel);
        }
    }
}
