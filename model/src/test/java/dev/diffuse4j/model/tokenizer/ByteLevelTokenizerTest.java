package dev.diffuse4j.model.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ByteLevelTokenizerTest {
    @Test
    void idsAreBytesInByteUnicodeOrder() {
        // '!'..'~' come first in bytes_to_unicode order, so 'a' (0x61) is 0x61 - 0x21 = 64.
        int[] ids = new ByteLevelTokenizer().encode("A b!").ids();
        assertArrayEquals(new int[]{256, 64, ByteLevelTokenizer.idOfByte(' '), 65, 0, 257, 257}, Arrays.copyOf(ids, 7));
        assertEquals(77, ids.length);
        Set<Integer> seen = new HashSet<>();
        for (int b = 0; b < 256; b++) {
            int id = ByteLevelTokenizer.idOfByte(b);
            assertEquals(b, ByteLevelTokenizer.byteOfId(id));
            seen.add(id);
        }
        assertEquals(256, seen.size());
    }

    @Test
    void multiByteCharactersBecomeOneTokenPerUtf8Byte() {
        TokenIds t = new ByteLevelTokenizer().encode("é");
        byte[] utf8 = "é".getBytes(StandardCharsets.UTF_8);
        assertEquals(2, t.contentCount());
        assertEquals(ByteLevelTokenizer.idOfByte(utf8[0]), t.ids()[1]);
        assertEquals(ByteLevelTokenizer.idOfByte(utf8[1]), t.ids()[2]);
    }

    @Test
    void truncatesAndPadsLikeClip() {
        ByteLevelTokenizer tok = new ByteLevelTokenizer(8, PadToken.openClipZero());
        TokenIds t = tok.encode("abcdefghij");
        assertEquals(6, t.contentCount());
        assertEquals(4, t.droppedCount());
        assertEquals(257, t.ids()[7]);
        assertArrayEquals(new int[]{256, 64, 257, 0, 0, 0, 0, 0}, tok.encode("a").ids());
        assertThrows(IllegalArgumentException.class, () -> new ByteLevelTokenizer(1, PadToken.openClipZero()));
        assertThrows(IllegalArgumentException.class, () -> new ByteLevelTokenizer(77, new PadToken(300, null)));
    }
}
