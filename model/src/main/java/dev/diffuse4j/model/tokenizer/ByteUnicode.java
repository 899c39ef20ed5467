package dev.diffuse4j.model.tokenizer;

/**
 * GPT-2's reversible byte-to-character table (bytes_to_unicode), so that BPE can work on printable
 * characters: the printable bytes '!'..'~', '¡'..'¬', '®'..'ÿ' stand for themselves, every other byte
 * b gets the character 256 + n, n counting those bytes in increasing order.
 * <p>The table's order (printable bytes first, then the rest) is also the order of ids 0..255 in the
 * CLIP vocabulary, so {@link #rank(int)} of a byte is its single-character token id.
 */
final class ByteUnicode {
    private static final char[] CHAR_OF_BYTE = new char[256];
    private static final int[] BYTE_OF_RANK = new int[256];
    private static final int[] RANK_OF_BYTE = new int[256];

    static {
        int rank = 0;
        for (int b = 0; b < 256; b++) {
            if (printable(b)) {
                CHAR_OF_BYTE[b] = (char) b;
                BYTE_OF_RANK[rank++] = b;
            }
        }
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (!printable(b)) {
                CHAR_OF_BYTE[b] = (char) (256 + n++);
                BYTE_OF_RANK[rank++] = b;
            }
        }
        for (int r = 0; r < 256; r++) RANK_OF_BYTE[BYTE_OF_RANK[r]] = r;
    }

    private ByteUnicode() {}

    private static boolean printable(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    /** The character standing for byte {@code b} (0..255). */
    static char charOf(int b) { return CHAR_OF_BYTE[b & 0xFF]; }

    /** Position of byte {@code b} in the table's order (= its single-character CLIP token id). */
    static int rank(int b) { return RANK_OF_BYTE[b & 0xFF]; }

    /** The byte at position {@code rank} of the table's order. */
    static int byteAt(int rank) { return BYTE_OF_RANK[rank]; }

    /** The UTF-8 bytes of {@code s}, each replaced by its character. */
    static String encode(String s) {
        byte[] utf8 = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        char[] out = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) out[i] = charOf(utf8[i]);
        return new String(out);
    }
}
