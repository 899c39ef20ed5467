package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.clip.TextConditioning;

import java.util.List;

/** Turns prompts into the UNet's conditioning: context [B, 77, C] and, for SDXL, pooled embeddings. */
public interface PromptEncoder extends AutoCloseable {
    TextConditioning encode(List<String> prompts);

    /** The (first) tokenizer, e.g. to label attention maps by token. */
    dev.diffuse4j.model.tokenizer.Tokenizer tokenizer();

    /** All-zero conditioning for a batch (SDXL's force_zeros_for_empty_prompt negatives). */
    TextConditioning zeros(int batch);

    @Override
    void close();
}
