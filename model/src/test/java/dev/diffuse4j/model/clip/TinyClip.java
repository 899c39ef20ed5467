package dev.diffuse4j.model.clip;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.weights.ParamSpec;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Small random CLIP text encoders and their checkpoints in both layouts, written independently of the mapping code. */
final class TinyClip {
    private TinyClip() {}

    /** Byte-level vocabulary (258: bos 256, eos 257), 12 positions, 3 layers of width 16 with 4 heads. */
    static ClipTextConfig config(ClipActivation act, boolean projection) { return config(act, projection, 16); }

    static ClipTextConfig config(ClipActivation act, boolean projection, int hidden) {
        return new ClipTextConfig(258, hidden, 40, 4, 3, 12, act, 1e-5f, projection, 8, 257, 0);
    }

    /** Parameter name -> (shape, values), in transformers naming. */
    record Weights(Map<String, int[]> shapes, Map<String, float[]> values) {
        float[] get(String name) { return values.get(name); }

        int[] shape(String name) { return shapes.get(name); }
    }

    static Weights random(ClipTextConfig c, long seed) {
        Random r = new Random(seed);
        Map<String, int[]> shapes = new LinkedHashMap<>();
        Map<String, float[]> values = new LinkedHashMap<>();
        for (ParamSpec p : ClipTextModel.parameters(c)) {
            int n = 1;
            for (int s : p.shape()) n *= s;
            float[] v = new float[n];
            String name = p.name();
            boolean norm = name.contains("layer_norm");
            for (int i = 0; i < n; i++) {
                double g = r.nextGaussian();
                if (name.contains("embedding")) v[i] = (float) (0.5 * g);
                else if (norm && name.endsWith("weight")) v[i] = (float) (1 + 0.2 * g);
                else if (name.endsWith("bias")) v[i] = (float) (0.1 * g);
                else v[i] = (float) (g / Math.sqrt(p.shape()[1]));
            }
            shapes.put(name, p.shape());
            values.put(name, v);
        }
        return new Weights(shapes, values);
    }

    /** The weights under transformers names with a key prefix. */
    static InMemoryTensorSource transformersCheckpoint(Weights w, String prefix) {
        InMemoryTensorSource src = new InMemoryTensorSource();
        w.values().forEach((name, v) -> src.put(prefix + name, Tensor.of(v, w.shape(name))));
        src.put(prefix + "text_model.embeddings.position_ids", Tensor.ofLongs(new long[12], 1, 12));
        return src;
    }

    /** The weights as an OpenCLIP text tower stores them (fused in_proj rows q, k, v; projection transposed). */
    static InMemoryTensorSource openClipCheckpoint(Weights w, ClipTextConfig c, String prefix) {
        InMemoryTensorSource src = new InMemoryTensorSource();
        int d = c.hiddenSize();
        src.put(prefix + "token_embedding.weight", Tensor.of(w.get("text_model.embeddings.token_embedding.weight"), c.vocabSize(), d));
        src.put(prefix + "positional_embedding", Tensor.of(w.get("text_model.embeddings.position_embedding.weight"), c.maxPositions(), d));
        src.put(prefix + "ln_final.weight", Tensor.of(w.get("text_model.final_layer_norm.weight"), d));
        src.put(prefix + "ln_final.bias", Tensor.of(w.get("text_model.final_layer_norm.bias"), d));
        if (c.withProjection()) {
            float[] p = w.get("text_projection.weight"); // [P, D]
            int pd = c.projectionDim();
            float[] t = new float[p.length];
            for (int i = 0; i < pd; i++) for (int j = 0; j < d; j++) t[j * pd + i] = p[i * d + j];
            src.put(prefix + "text_projection", Tensor.of(t, d, pd));
        }
        for (int l = 0; l < c.numLayers(); l++) {
            String hf = "text_model.encoder.layers." + l + ".";
            String oc = prefix + "transformer.resblocks." + l + ".";
            float[] inW = new float[3 * d * d], inB = new float[3 * d];
            String[] qkv = {"q_proj", "k_proj", "v_proj"};
            for (int part = 0; part < 3; part++) {
                System.arraycopy(w.get(hf + "self_attn." + qkv[part] + ".weight"), 0, inW, part * d * d, d * d);
                System.arraycopy(w.get(hf + "self_attn." + qkv[part] + ".bias"), 0, inB, part * d, d);
            }
            src.put(oc + "attn.in_proj_weight", Tensor.of(inW, 3 * d, d));
            src.put(oc + "attn.in_proj_bias", Tensor.of(inB, 3 * d));
            String[][] renames = {{"self_attn.out_proj", "attn.out_proj"}, {"layer_norm1", "ln_1"}, {"layer_norm2", "ln_2"},
                    {"mlp.fc1", "mlp.c_fc"}, {"mlp.fc2", "mlp.c_proj"}};
            for (String[] rn : renames)
                for (String suffix : new String[]{".weight", ".bias"})
                    src.put(oc + rn[1] + suffix, Tensor.of(w.get(hf + rn[0] + suffix), w.shape(hf + rn[0] + suffix)));
        }
        src.put(prefix + "attn_mask", Tensor.of(new float[c.maxPositions() * c.maxPositions()], c.maxPositions(), c.maxPositions()));
        src.put(prefix + "logit_scale", Tensor.of(new float[]{4.6f}, 1));
        return src;
    }
}
