package dev.diffuse4j.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.diffuse4j.model.goldens.SharedGoldens;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClipTokenizerTest {
    static Path dir;
    static ClipTokenizer sd15;
    static ClipTokenizer openClip;
    static JsonNode cases;

    @BeforeAll
    static void load() throws IOException {
        dir = SharedGoldens.dir().resolve("clip_tokenizer");
        sd15 = ClipTokenizer.of(dir.resolve("vocab.json"), dir.resolve("merges.txt"), PadToken.endOfText(49407), 77);
        openClip = sd15.withPad(PadToken.openClipZero());
        cases = new ObjectMapper().readTree(dir.resolve("tokenizer_cases.json").toFile()).path("cases");
    }

    private static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) out[i] = arr.get(i).asInt();
        return out;
    }

    @Test
    void vocabularyAndMergesHaveClipSizes() {
        assertEquals(49408, sd15.vocabSize());
        assertEquals(48894, sd15.mergeCount());
        assertEquals(49406, sd15.bosId());
        assertEquals(49407, sd15.eosId());
    }

    @Test
    void reproducesEveryGoldenIdSequence() {
        assertEquals(40, cases.size());
        List<String> failures = new ArrayList<>();
        for (JsonNode c : cases) {
            String prompt = c.path("prompt").asText();
            TokenIds a = sd15.encode(prompt), b = openClip.encode(prompt);
            if (!Arrays.equals(ints(c.path("ids_sd15")), a.ids())) failures.add("ids_sd15 of \"" + prompt + "\": " + a);
            if (!Arrays.equals(ints(c.path("ids_sdxl2")), b.ids())) failures.add("ids_sdxl2 of \"" + prompt + "\": " + b);
            List<String> words = new ArrayList<>();
            c.path("bpe_tokens").forEach(w -> words.add(w.asText()));
            if (!words.equals(sd15.bpeWords(prompt))) failures.add("bpe of \"" + prompt + "\": " + sd15.bpeWords(prompt));
            if (!TextNormalizer.normalize(prompt).equals(c.path("normalized").asText())) failures.add("normalized \"" + prompt + "\"");
            int total = a.contentCount() + a.droppedCount();
            if (total != c.path("num_bpe_tokens").asInt() || a.truncated() != c.path("truncated").asBoolean())
                failures.add("counts of \"" + prompt + "\": " + total + " tokens, truncated " + a.truncated());
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    @Test
    void truncationKeeps75ContentTokensAndReportsTheRest() {
        JsonNode longCase = cases.get(29);
        TokenIds t = sd15.encode(longCase.path("prompt").asText());
        assertEquals(75, t.contentCount());
        assertEquals(longCase.path("num_bpe_tokens").asInt() - 75, t.droppedCount());
        assertEquals(49407, t.ids()[76]);
        assertEquals(0, sd15.encode("a photo of a cat").droppedCount());
    }

    @Test
    void emptyPromptFollowsBothPaddingConventions() {
        int[] a = sd15.encode("").ids(), b = openClip.encode("  ").ids();
        assertEquals(49406, a[0]);
        for (int i = 1; i < 77; i++) assertEquals(49407, a[i]);
        assertEquals(49406, b[0]);
        assertEquals(49407, b[1]);
        for (int i = 2; i < 77; i++) assertEquals(0, b[i]);
    }

    /** diffusers' tokenizer_2 registers "!" as an added special token: every "!" becomes id 0 (reference §2.6). */
    @Test
    void addedSpecialPadTokenSplitsExclamationMarks() {
        ClipTokenizer hf = sd15.withPad(PadToken.addedSpecial("!", 0));
        int[] ids = hf.encode("! !! !!!").ids();
        assertArrayEquals(new int[]{49406, 0, 0, 0, 0, 0, 0, 49407, 0}, Arrays.copyOf(ids, 9));
        // OpenCLIP keeps them as BPE text: "!</w>" = 256, "!!</w>" = 748, "!!!</w>" = 995.
        assertArrayEquals(new int[]{49406, 256, 748, 995, 49407, 0}, Arrays.copyOf(openClip.encode("! !! !!!").ids(), 6));
        int[] hello = hf.encode("Hello, World!").ids();
        assertArrayEquals(new int[]{49406, 3306, 267, 1002, 0, 49407, 0}, Arrays.copyOf(hello, 7));
    }

    @Test
    void loadsDiffusersFoldersWithTheirPadToken(@TempDir Path tmp) throws IOException {
        Path tok1 = Files.createDirectories(tmp.resolve("tokenizer"));
        Path tok2 = Files.createDirectories(tmp.resolve("tokenizer_2"));
        for (Path t : List.of(tok1, tok2)) {
            Files.copy(dir.resolve("vocab.json"), t.resolve("vocab.json"));
            Files.copy(dir.resolve("merges.txt"), t.resolve("merges.txt"));
        }
        Files.writeString(tok1.resolve("special_tokens_map.json"), """
                {"bos_token": {"content": "<|startoftext|>"}, "eos_token": {"content": "<|endoftext|>"},
                 "pad_token": "<|endoftext|>", "unk_token": {"content": "<|endoftext|>"}}""");
        Files.writeString(tok2.resolve("tokenizer_config.json"), """
                {"model_max_length": 77, "pad_token": {"content": "!", "lstrip": false, "normalized": false}}""");
        ClipTokenizer a = ClipTokenizer.load(tok1), b = ClipTokenizer.load(tok2);
        assertEquals(49407, a.padId());
        assertEquals(0, b.padId());
        assertEquals("!", b.pad().specialText());
        assertEquals(77, b.maxLength());
        assertArrayEquals(ints(cases.get(0).path("ids_sd15")), a.encode(cases.get(0).path("prompt").asText()).ids());
        assertArrayEquals(ints(cases.get(0).path("ids_sdxl2")), b.encode(cases.get(0).path("prompt").asText()).ids());
    }

    @Test
    void byteTableOrderMatchesTheVocabulary() throws IOException {
        JsonNode vocab = new ObjectMapper().readTree(dir.resolve("vocab.json").toFile());
        for (int b = 0; b < 256; b++) {
            String symbol = String.valueOf(ByteUnicode.charOf(b));
            assertEquals(vocab.path(symbol).asInt(-1), ByteUnicode.rank(b), "byte " + b);
            assertEquals(vocab.path(symbol + "</w>").asInt(-1), 256 + ByteUnicode.rank(b), "byte " + b + " + </w>");
            assertEquals(b, ByteUnicode.byteAt(ByteUnicode.rank(b)));
        }
    }
}
