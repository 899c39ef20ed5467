package dev.diffuse4j.model.tokenizer;

import dev.diffuse4j.runtime.Tensor;

import java.util.List;

/** Text to fixed-length token ids, CLIP style: [bos] + content (truncated) + [eos] + padding. */
public interface Tokenizer {
    TokenIds encode(String text);

    /** Sequence length of every encoding (77 for CLIP). */
    int maxLength();

    /** Every id is below this (the embedding table size). */
    int vocabSize();

    int bosId();

    int eosId();

    int padId();

    /** Encodes a batch of prompts into an I64 tensor [prompts, maxLength]. */
    default Tensor encodeBatch(List<String> texts) {
        long[] ids = new long[texts.size() * maxLength()];
        for (int b = 0; b < texts.size(); b++) {
            int[] row = encode(texts.get(b)).ids();
            for (int i = 0; i < row.length; i++) ids[b * maxLength() + i] = row[i];
        }
        return Tensor.ofLongs(ids, texts.size(), maxLength());
    }

    /**
     * Lays out content ids as [bos] + first (maxLength - 2) content ids + [eos] + pad ids up to maxLength,
     * recording how many content ids did not fit.
     */
    static TokenIds frame(int[] content, int contentCount, int maxLength, int bos, int eos, int pad) {
        if (maxLength < 2) throw new IllegalArgumentException("max length " + maxLength + " leaves no room for bos and eos");
        int kept = Math.min(contentCount, maxLength - 2);
        int[] ids = new int[maxLength];
        ids[0] = bos;
        System.arraycopy(content, 0, ids, 1, kept);
        ids[kept + 1] = eos;
        for (int i = kept + 2; i < maxLength; i++) ids[i] = pad;
        return new TokenIds(ids, kept, contentCount - kept);
    }
}
