package dev.diffuse4j.model.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * A vocabulary-free tokenizer for tiny test models: one token per UTF-8 byte of the normalised text
 * (spaces included, no merges), framed like CLIP ([bos] + content + [eos] + padding, truncated to
 * maxLength).
 * <p>Ids: byte b has id {@code ByteUnicode.rank(b)}, its position in GPT-2's bytes_to_unicode order,
 * which is also its single-character id in the CLIP vocabulary ('!' = 0, 'a' = 64, ' ' = 220).
 * bos = 256, eos = 257, vocabulary size 258. Padding follows a {@link PadToken} (eos by default).
 */
public final class ByteLevelTokenizer implements Tokenizer {
    public static final int BOS = 256;
    public static final int EOS = 257;
    public static final int VOCAB_SIZE = 258;

    private final int maxLength;
    private final PadToken pad;

    public ByteLevelTokenizer(int maxLength, PadToken pad) {
        if (maxLength < 2) throw new IllegalArgumentException("tokenizer max length " + maxLength + " leaves no room for bos and eos");
        if (pad.id() >= VOCAB_SIZE) throw new IllegalArgumentException("pad id " + pad.id() + " is outside the byte vocabulary of " + VOCAB_SIZE);
        this.maxLength = maxLength;
        this.pad = pad;
    }

    /** 77 tokens, padded with eos (the SD1.5 convention). */
    public ByteLevelTokenizer() { this(ClipTokenizer.DEFAULT_MAX_LENGTH, PadToken.endOfText(EOS)); }

    /** The id of one byte (0..255). */
    public static int idOfByte(int b) { return ByteUnicode.rank(b); }

    /** The byte an id below 256 stands for. */
    public static int byteOfId(int id) {
        if (id < 0 || id >= 256) throw new IllegalArgumentException("id " + id + " is not a byte token (0..255)");
        return ByteUnicode.byteAt(id);
    }

    @Override
    public TokenIds encode(String text) {
        String normalized = TextNormalizer.normalize(text);
        String split = pad.specialText();
        int[] content = new int[normalized.getBytes(StandardCharsets.UTF_8).length];
        int n = 0, start = 0;
        while (true) {
            int at = split == null ? -1 : normalized.indexOf(split, start);
            int end = at < 0 ? normalized.length() : at;
            for (byte b : normalized.substring(start, end).getBytes(StandardCharsets.UTF_8)) content[n++] = idOfByte(b);
            if (at < 0) break;
            content[n++] = pad.id();
            start = at + split.length();
        }
        return Tokenizer.frame(content, n, maxLength, BOS, EOS, pad.id());
    }

    @Override
    public int maxLength() { return maxLength; }

    @Override
    public int vocabSize() { return VOCAB_SIZE; }

    @Override
    public int bosId() { return BOS; }

    @Override
    public int eosId() { return EOS; }

    @Override
    public int padId() { return pad.id(); }
}
