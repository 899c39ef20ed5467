package dev.diffuse4j.model.clip;

import dev.diffuse4j.runtime.Tensor;

import java.util.Map;
import java.util.NoSuchElementException;

/**
 * What one CLIP text pass returns (transformers naming). The caller owns the tensors; close() frees them.
 *
 * @param lastHiddenState output of the last layer after final_layer_norm [B, L, D]
 * @param hiddenStates    requested hidden_states by non-negative index (0 = embeddings, i = after layer i;
 *                        all before the final norm) [B, L, D]
 * @param pooled          lastHiddenState at each row's end-of-text position [B, D]
 * @param textEmbeds      pooled x text_projection^T [B, P], or null when the model has no projection
 * @param eosPositions    the pooled position of each row
 */
public record ClipTextOutput(Tensor lastHiddenState, Map<Integer, Tensor> hiddenStates, Tensor pooled,
                             Tensor textEmbeds, int[] eosPositions, int numLayers) implements AutoCloseable {
    public ClipTextOutput {
        hiddenStates = Map.copyOf(hiddenStates);
        eosPositions = eosPositions.clone();
    }

    @Override
    public int[] eosPositions() { return eosPositions.clone(); }

    /** hidden_states[index] as transformers numbers them; negative indices count from the end (-2 = penultimate). */
    public Tensor hiddenState(int index) {
        Tensor t = hiddenStates.get(ClipTextModel.normalizeHiddenIndex(index, numLayers));
        if (t == null) throw new NoSuchElementException("hidden_states[" + index + "] was not requested from the forward pass (have " + hiddenStates.keySet() + ")");
        return t;
    }

    @Override
    public void close() {
        if (lastHiddenState != null) lastHiddenState.close();
        hiddenStates.values().forEach(Tensor::close);
        if (pooled != null) pooled.close();
        if (textEmbeds != null) textEmbeds.close();
    }
}
