package dev.diffuse4j.model.clip;

import dev.diffuse4j.runtime.Tensor;

/**
 * Prompt embeddings for the UNet. The caller owns the tensors.
 *
 * @param context       cross-attention context [B, 77, 768] (SD1.5) or [B, 77, 2048] (SDXL)
 * @param pooled        SDXL's pooled text embedding [B, 1280] (bigG text_embeds); null for SD1.5
 * @param droppedTokens per prompt, the content tokens truncation cut off (the larger of the two
 *                      tokenizers' counts for SDXL); pipelines warn when any is not 0
 */
public record TextConditioning(Tensor context, Tensor pooled, int[] droppedTokens) implements AutoCloseable {
    public TextConditioning {
        droppedTokens = droppedTokens.clone();
    }

    @Override
    public int[] droppedTokens() { return droppedTokens.clone(); }

    public boolean anyTruncated() {
        for (int d : droppedTokens) if (d > 0) return true;
        return false;
    }

    @Override
    public void close() {
        context.close();
        if (pooled != null) pooled.close();
    }
}
