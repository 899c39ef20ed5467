package dev.diffuse4j.model.tokenizer;

/**
 * What fills a prompt up to the max length, and whether its text is also special inside prompts.
 * <ul>
 *   <li>{@link #endOfText}: pad with {@code <|endoftext|>} (49407): SD1.5 {@code tokenizer} and SDXL {@code tokenizer}.</li>
 *   <li>{@link #openClipZero}: pad with id 0, a "!" typed in the prompt stays ordinary text ("!&lt;/w&gt;" = 256):
 *       OpenCLIP's own tokenizer, which the SGM/ComfyUI stacks use for SDXL's second encoder.</li>
 *   <li>{@link #addedSpecial}: pad with a token registered as an added special token, as diffusers' SDXL
 *       {@code tokenizer_2} does with "!" (id 0): every literal occurrence of that text in a prompt is split
 *       out before BPE and becomes the pad id too (diffusers issue #4153).</li>
 * </ul>
 *
 * @param id               the pad id
 * @param specialText      text split out of prompts as this id, or null
 */
public record PadToken(int id, String specialText) {
    public PadToken {
        if (id < 0) throw new IllegalArgumentException("pad id " + id + " is negative");
        if (specialText != null && specialText.isEmpty()) throw new IllegalArgumentException("pad token text is empty");
    }

    public static PadToken endOfText(int eosId) { return new PadToken(eosId, null); }

    public static PadToken openClipZero() { return new PadToken(0, null); }

    public static PadToken addedSpecial(String text, int id) { return new PadToken(id, text); }
}
