package dev.diffuse4j.model.clip;

import dev.diffuse4j.model.nn.LayerNorm;
import dev.diffuse4j.model.nn.ModelWeights;
import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.model.nn.Linear;
import dev.diffuse4j.model.nn.ParamStore;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.weights.ParamSpec;
import dev.diffuse4j.weights.TensorSource;
import dev.diffuse4j.weights.WeightBinder;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The CLIP text transformer (transformers CLIPTextModel / CLIPTextModelWithProjection; reference §1.4):
 * token + position embeddings, pre-LN causal encoder layers, final LayerNorm, pooling at the end-of-text
 * token, optional projection. Parameters are named as in transformers checkpoints
 * ({@code text_model.encoder.layers.3.self_attn.q_proj.weight}, {@code text_projection.weight}).
 */
public final class ClipTextModel implements AutoCloseable {
    private final ClipTextConfig config;
    private final Tensor tokenEmbedding;    // [V, D]
    private final Tensor positionEmbedding; // [maxPositions, D]
    private final List<ClipEncoderLayer> layers;
    private final LayerNorm finalLayerNorm;
    private final Linear textProjection;    // [P, D], no bias; null without projection
    private final AutoCloseable weights;    // what close() releases; null when the caller owns the parameters
    private DType activations = DType.F32;  // storage type of the hidden states (see Placement)

    private ClipTextModel(ClipTextConfig config, Params root, AutoCloseable weights) {
        this.config = config;
        Params text = root.at("text_model");
        Params emb = text.at("embeddings");
        int d = config.hiddenSize();
        this.tokenEmbedding = emb.at("token_embedding").get("weight", config.vocabSize(), d);
        this.positionEmbedding = emb.at("position_embedding").get("weight", config.maxPositions(), d);
        List<ClipEncoderLayer> ls = new ArrayList<>(config.numLayers());
        for (int i = 0; i < config.numLayers(); i++) ls.add(ClipEncoderLayer.of(text.at("encoder").at("layers").at(i), config));
        this.layers = List.copyOf(ls);
        this.finalLayerNorm = LayerNorm.of(text.at("final_layer_norm"), d, config.layerNormEps());
        this.textProjection = config.withProjection() ? Linear.of(root.at("text_projection"), d, config.projectionDim(), false) : null;
        this.weights = weights;
    }

    /**
     * Builds the model over a parameter store (see {@link ParamStore}: a recording pass lists the
     * parameters, a bound pass builds the model). The store's tensors stay the caller's.
     */
    public static ClipTextModel build(ClipTextConfig config, ParamStore store) {
        return new ClipTextModel(config, Params.root(store), null);
    }

    /** The parameters the model asks for (names and shapes), from a recording pass. */
    public static List<ParamSpec> parameters(ClipTextConfig config) {
        ParamStore.Recording recording = ParamStore.recording();
        build(config, recording);
        return recording.specs();
    }

    /**
     * Loads the encoder from a checkpoint: every parameter is matched first ({@link WeightBinder} reports
     * all missing, unexpected and mis-shaped keys of the component together), then the model is built over
     * the bound tensors (views into the checkpoint where the layout allows), copied to {@code device} when
     * that is not the CPU. The model owns them; close it to release them.
     */
    public static ClipTextModel load(ClipTextConfig config, TensorSource source, ClipWeightLayout layout, Device device) {
        return load(config, source, layout, Placement.of(device));
    }

    /** As {@link #load(ClipTextConfig, TensorSource, ClipWeightLayout, Device)}, with weights and hidden states in {@code at}'s types. */
    public static ClipTextModel load(ClipTextConfig config, TensorSource source, ClipWeightLayout layout, Placement at) {
        Map<String, Tensor> bound;
        try (ReadOnceSource once = new ReadOnceSource(source)) {
            bound = WeightBinder.bind(parameters(config), once, layout.mapping(), layout::belongs, layout::ignorable);
        }
        bound.values().forEach(Scope::detach); // the model owns them, whatever scope the caller has open
        Map<String, Tensor> placed = bound;
        try {
            Map<String, Tensor> own = placed = ModelWeights.place(bound, at);
            own.values().forEach(Scope::detach);
            ClipTextModel m = new ClipTextModel(config, Params.root(ParamStore.of(own)), () -> own.values().forEach(Tensor::close));
            m.activations(at.activations());
            return m;
        } catch (RuntimeException e) {
            placed.values().forEach(Tensor::close);
            throw e;
        }
    }

    public ClipTextConfig config() { return config; }

    public Device device() { return tokenEmbedding.device(); }

    /** The storage type of the hidden states this model returns (F32 unless loaded otherwise). */
    public DType activations() { return activations; }

    /** Sets the storage type of the hidden states: F32, F16 or BF16 (see {@link Placement}). */
    public void activations(DType t) { this.activations = new Placement(Device.CPU, t).activations(); }

    // ---------------------------------------------------------------- forward

    /**
     * The full pass.
     *
     * @param inputIds     integer ids [B, L], L at most maxPositions (any device; moved to the model's)
     * @param hiddenStates hidden_states indices to return as well (transformers numbering, negatives count
     *                     from the end: -2 is the penultimate layer's output, before the final norm)
     */
    public ClipTextOutput forward(Tensor inputIds, int... hiddenStates) {
        checkIds(inputIds);
        TreeSet<Integer> wanted = new TreeSet<>();
        for (int i : hiddenStates) wanted.add(normalizeHiddenIndex(i, layers.size()));
        int[] eos = eosPositions(inputIds);
        Map<Integer, Tensor> kept = new HashMap<>();
        Tensor last = null, pooled = null, projected = null;
        try {
            Tensor h = run(inputIds, layers.size(), wanted, kept);
            try {
                last = Scope.detach(finalLayerNorm.forward(h));
            } finally {
                if (!kept.containsValue(h)) h.close();
            }
            pooled = Scope.detach(gatherRows(last, eos));
            if (textProjection != null) projected = Scope.detach(textProjection.forward(pooled));
            return new ClipTextOutput(last, kept, pooled, projected, eos, layers.size());
        } catch (RuntimeException e) {
            kept.values().forEach(Tensor::close);
            for (Tensor t : new Tensor[]{last, pooled, projected}) if (t != null) t.close();
            throw e;
        }
    }

    /**
     * hidden_states[index] only (before the final norm), running just the layers it needs; e.g. -2 for
     * SDXL's context. The caller owns the result.
     */
    public Tensor hiddenState(Tensor inputIds, int index) {
        checkIds(inputIds);
        int idx = normalizeHiddenIndex(index, layers.size());
        return run(inputIds, idx, new TreeSet<>(), new HashMap<>());
    }

    /** final_layer_norm(h), for clip-skip conditioning (SD1.5 applies it to the chosen hidden state). */
    public Tensor finalLayerNorm(Tensor h) { return Scope.detach(finalLayerNorm.forward(h)); }

    /**
     * Embeddings, then layers [0, stop); the hidden states listed in {@code wanted} go to {@code kept}.
     * Returns hidden_states[stop] (which may also be in kept); every result is detached from scopes.
     */
    private Tensor run(Tensor inputIds, int stop, TreeSet<Integer> wanted, Map<Integer, Tensor> kept) {
        Tensor h = Scope.detach(embed(inputIds));
        try {
            if (wanted.contains(0)) kept.put(0, h);
            for (int i = 0; i < stop; i++) {
                Tensor next = Scope.detach(layers.get(i).forward(h));
                if (!kept.containsValue(h)) h.close();
                h = next;
                if (wanted.contains(i + 1)) kept.put(i + 1, h);
            }
            return h;
        } catch (RuntimeException e) {
            if (!kept.containsValue(h)) h.close();
            kept.values().forEach(Tensor::close);
            throw e;
        }
    }

    private void checkIds(Tensor inputIds) {
        if (inputIds.rank() != 2)
            throw new IllegalArgumentException("CLIP text model: input ids must be [batch, length], got " + inputIds.describe());
        if (inputIds.dtype().isFloating())
            throw new IllegalArgumentException("CLIP text model: input ids must be an integer tensor, got " + inputIds.describe());
        int len = inputIds.dim(1);
        if (len < 1 || len > config.maxPositions())
            throw new IllegalArgumentException("CLIP text model: sequence length " + len + " is outside 1.." + config.maxPositions());
    }

    /** token_embedding[ids] + position_embedding[0..L-1] -> [B, L, D]. */
    private Tensor embed(Tensor inputIds) {
        int len = inputIds.dim(1);
        try (Scope s = Scope.open()) {
            Tensor ids = onDevice(inputIds);
            Tensor tokens = Placement.as(Ops.embedding(tokenEmbedding, ids), activations);
            Tensor positions = Placement.as(positionEmbedding.slice(0, 0, len), activations);
            return s.keep(Ops.add(tokens, positions));
        }
    }

    /** rows[b] = x[b, positions[b]] of x [B, L, D] -> [B, D], as an embedding lookup in the flattened rows. */
    private Tensor gatherRows(Tensor x, int[] positions) {
        int b = x.dim(0), len = x.dim(1);
        long[] flat = new long[b];
        for (int i = 0; i < b; i++) flat[i] = (long) i * len + positions[i];
        try (Scope s = Scope.open()) {
            Tensor rows = x.reshape(b * len, x.dim(2));
            Tensor index = onDevice(Tensor.ofLongs(flat, b));
            return s.keep(Ops.embedding(rows, index));
        }
    }

    private Tensor onDevice(Tensor t) {
        return t.device().equals(device()) ? t : Ops.to(t, device());
    }

    /**
     * The pooled position of each row (transformers CLIPTextTransformer): the first occurrence of the
     * end-of-text id, or for legacy configs (eos_token_id == 2) the position of the largest id, which is the
     * same for CLIP tokens (end-of-text 49407 is the largest id).
     */
    public int[] eosPositions(Tensor inputIds) {
        Tensor host = inputIds.device().equals(Device.CPU) ? inputIds : Ops.to(inputIds, Device.CPU);
        try {
            int rows = inputIds.dim(0), len = inputIds.dim(1);
            long[] ids = host.toLongArray();
            int[] pos = new int[rows];
            for (int b = 0; b < rows; b++) {
                int found = -1;
                if (config.eosTokenId() == ClipTextConfig.LEGACY_EOS_TOKEN_ID) {
                    found = 0;
                    for (int i = 1; i < len; i++) if (ids[b * len + i] > ids[b * len + found]) found = i;
                } else {
                    for (int i = 0; i < len && found < 0; i++) if (ids[b * len + i] == config.eosTokenId()) found = i;
                }
                if (found < 0)
                    throw new IllegalArgumentException("CLIP text model: row " + b + " of the input ids has no end-of-text id "
                            + config.eosTokenId() + " to pool at: " + Arrays.toString(Arrays.copyOfRange(ids, b * len, (b + 1) * len)));
                pos[b] = found;
            }
            return pos;
        } finally {
            if (host != inputIds) host.close();
        }
    }

    static int normalizeHiddenIndex(int index, int numLayers) {
        int idx = index < 0 ? numLayers + 1 + index : index;
        if (idx < 0 || idx > numLayers)
            throw new IndexOutOfBoundsException("hidden_states[" + index + "] does not exist: there are " + (numLayers + 1)
                    + " (embeddings and " + numLayers + " layers)");
        return idx;
    }

    @Override
    public void close() {
        if (weights == null) return;
        try {
            weights.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing CLIP text model weights", e);
        }
    }
}
