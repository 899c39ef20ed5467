package dev.diffuse4j.model.tokenizer;

import java.text.Normalizer;
import java.util.Locale;

/**
 * CLIP's text clean-up as the Hugging Face fast tokenizer does it: Unicode NFC, every run of
 * whitespace collapsed to one space, leading and trailing space removed, lower case.
 * ftfy and HTML unescaping (the slow tokenizer's optional extras) are not applied.
 */
public final class TextNormalizer {
    private TextNormalizer() {}

    public static String normalize(String text) {
        String nfc = Normalizer.normalize(text, Normalizer.Form.NFC);
        StringBuilder sb = new StringBuilder(nfc.length());
        boolean pendingSpace = false;
        for (int i = 0; i < nfc.length(); ) {
            int cp = nfc.codePointAt(i);
            i += Character.charCount(cp);
            if (isWhitespace(cp)) {
                pendingSpace = sb.length() > 0; // drops leading whitespace
            } else {
                if (pendingSpace) sb.append(' ');
                pendingSpace = false;
                sb.appendCodePoint(cp);
            }
        }
        return sb.toString().toLowerCase(Locale.ROOT);
    }

    /** Unicode whitespace as Python's str.isspace and regex \s see it (includes NBSP and U+001C..U+001F). */
    static boolean isWhitespace(int cp) {
        return Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x85;
    }
}
