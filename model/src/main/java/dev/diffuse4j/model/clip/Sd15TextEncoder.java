package dev.diffuse4j.model.clip;

import dev.diffuse4j.model.tokenizer.Tokenizer;
import dev.diffuse4j.runtime.Tensor;

import java.util.List;

/**
 * SD1.5 conditioning (reference §1.4): context = CLIP-L last_hidden_state; with clip skip k (diffusers'
 * {@code clip_skip}; 0 = none) it is final_layer_norm(hidden_states[-(k+1)]).
 */
public record Sd15TextEncoder(Tokenizer tokenizer, ClipTextModel clip) {
    public TextConditioning encode(List<String> prompts, int clipSkip) {
        int[] dropped = new int[prompts.size()];
        for (int i = 0; i < dropped.length; i++) dropped[i] = tokenizer.encode(prompts.get(i)).droppedCount();
        try (Tensor ids = tokenizer.encodeBatch(prompts)) {
            return new TextConditioning(context(clip, ids, clipSkip), null, dropped);
        }
    }

    /** The context for token ids [B, L]. */
    public static Tensor context(ClipTextModel clip, Tensor ids, int clipSkip) {
        if (clipSkip < 0 || clipSkip >= clip.config().numLayers())
            throw new IllegalArgumentException("clip skip " + clipSkip + " is outside 0.." + (clip.config().numLayers() - 1));
        try (Tensor h = clip.hiddenState(ids, -(clipSkip + 1))) {
            return clip.finalLayerNorm(h);
        }
    }
}
