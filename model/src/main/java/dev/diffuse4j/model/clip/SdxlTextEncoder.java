package dev.diffuse4j.model.clip;

import dev.diffuse4j.model.tokenizer.Tokenizer;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.List;

/**
 * SDXL conditioning (reference §1.4): context = concat(CLIP-L hidden_states[-2], bigG hidden_states[-2])
 * along channels -> [B, 77, 768 + 1280], neither final-normed; pooled = bigG text_embeds [B, 1280].
 * Clip skip k (diffusers' {@code clip_skip}; 0 = none) takes hidden_states[-(k+2)] from both encoders;
 * diffusers applies it to the positive prompts only, so pipelines pass 0 for the negative ones.
 */
public record SdxlTextEncoder(Tokenizer tokenizer1, ClipTextModel clipL, Tokenizer tokenizer2, ClipTextModel bigG) {
    public SdxlTextEncoder {
        if (!bigG.config().withProjection())
            throw new IllegalArgumentException("SDXL's second text encoder must have a text_projection (CLIPTextModelWithProjection)");
    }

    public TextConditioning encode(List<String> prompts, int clipSkip) { return encode(prompts, prompts, clipSkip); }

    /** With a separate prompt list for the second encoder (diffusers' {@code prompt_2}). */
    public TextConditioning encode(List<String> prompts, List<String> prompts2, int clipSkip) {
        if (prompts.size() != prompts2.size())
            throw new IllegalArgumentException(prompts.size() + " prompts but " + prompts2.size() + " second prompts");
        int[] dropped = new int[prompts.size()];
        for (int i = 0; i < dropped.length; i++)
            dropped[i] = Math.max(tokenizer1.encode(prompts.get(i)).droppedCount(), tokenizer2.encode(prompts2.get(i)).droppedCount());
        try (Tensor ids1 = tokenizer1.encodeBatch(prompts); Tensor ids2 = tokenizer2.encodeBatch(prompts2)) {
            TextConditioning c = encodeIds(clipL, ids1, bigG, ids2, clipSkip);
            return new TextConditioning(c.context(), c.pooled(), dropped);
        }
    }

    /** Context [B, L, 768+1280] and pooled [B, 1280] for token ids [B, L] of the two tokenizers (no truncation counts). */
    public static TextConditioning encodeIds(ClipTextModel clipL, Tensor ids1, ClipTextModel bigG, Tensor ids2, int clipSkip) {
        int layers = Math.min(clipL.config().numLayers(), bigG.config().numLayers());
        if (clipSkip < 0 || clipSkip + 1 >= layers)
            throw new IllegalArgumentException("clip skip " + clipSkip + " is outside 0.." + (layers - 2));
        int index = -(clipSkip + 2);
        try (Tensor a = clipL.hiddenState(ids1, index); ClipTextOutput g = bigG.forward(ids2, index)) {
            Tensor context = Scope.detach(Ops.concat(2, a, g.hiddenState(index)));
            return new TextConditioning(context, Scope.detach(g.textEmbeds().share()), new int[ids1.dim(0)]);
        }
    }
}
