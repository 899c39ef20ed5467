/**
 * Text to token ids for the CLIP text encoders.
 *
 * <p>{@link dev.diffuse4j.model.tokenizer.ClipTokenizer} is CLIP's byte-level BPE as Hugging Face's
 * CLIPTokenizerFast runs it (NFC, whitespace collapsed, lower case; no ftfy), loaded from a diffusers
 * {@code tokenizer/} folder. Every prompt becomes 77 ids: start-of-text, at most 75 content ids (the count
 * cut off is reported so pipelines can warn), end-of-text, padding.
 *
 * <p>Padding ({@link dev.diffuse4j.model.tokenizer.PadToken}) is where SD stacks differ: SD1.5 and SDXL's
 * first tokenizer pad with end-of-text (49407); SDXL's second encoder pads with id 0. diffusers gets that 0 by
 * registering "!" as an added special token, which also turns every "!" typed in a prompt into 0
 * ({@code PadToken.addedSpecial}, what {@code ClipTokenizer.load} picks for such a folder); OpenCLIP (and the
 * goldens' {@code ids_sdxl2}) pad with 0 but keep "!" as ordinary text ({@code PadToken.openClipZero}).
 *
 * <p>{@link dev.diffuse4j.model.tokenizer.ByteLevelTokenizer} needs no files: one id per UTF-8 byte, in GPT-2
 * bytes_to_unicode order (so ids 0..255 coincide with CLIP's single-character ids), bos 256, eos 257; it is for
 * tiny test models with a 258-row embedding table.
 */
package dev.diffuse4j.model.tokenizer;
