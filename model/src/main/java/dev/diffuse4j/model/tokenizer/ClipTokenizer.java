package dev.diffuse4j.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The CLIP byte-level BPE tokenizer (reference §2), matching Hugging Face's CLIPTokenizerFast:
 * normalise ({@link TextNormalizer}), split into pieces with CLIP's regex (letter runs, single digits,
 * punctuation runs; whitespace dropped), map each piece's UTF-8 bytes to byte-unicode characters, mark
 * the last one with "&lt;/w&gt;", merge by rank, look the symbols up in the vocabulary. The result is
 * [bos] + at most maxLength-2 ids + [eos] + padding ({@link PadToken}).
 */
public final class ClipTokenizer implements Tokenizer {
    public static final String START_OF_TEXT = "<|startoftext|>";
    public static final String END_OF_TEXT = "<|endoftext|>";
    public static final int DEFAULT_MAX_LENGTH = 77;

    private static final Pattern PIECES = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    private static final int CACHE_LIMIT = 65_536;

    private final Map<String, Integer> vocab;
    private final BpeMerges merges;
    private final int bos, eos, unk;
    private final PadToken pad;
    private final int maxLength;
    private final int vocabSize;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private ClipTokenizer(Map<String, Integer> vocab, BpeMerges merges, PadToken pad, int maxLength) {
        this.vocab = Map.copyOf(vocab);
        this.merges = merges;
        this.bos = require(vocab, START_OF_TEXT);
        this.eos = require(vocab, END_OF_TEXT);
        this.unk = eos;
        this.pad = pad;
        this.maxLength = maxLength;
        this.vocabSize = vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        if (maxLength < 2) throw new IllegalArgumentException("tokenizer max length " + maxLength + " leaves no room for bos and eos");
    }

    private static int require(Map<String, Integer> vocab, String token) {
        Integer id = vocab.get(token);
        if (id == null) throw new IllegalArgumentException("the vocabulary has no " + token + " token");
        return id;
    }

    /**
     * Loads a diffusers {@code tokenizer/} or {@code tokenizer_2/} folder: vocab.json, merges.txt, and the pad
     * token and max length from tokenizer_config.json / special_tokens_map.json when present. A pad token
     * other than the vocabulary's specials (SDXL tokenizer_2's "!") is treated as diffusers treats it: an
     * added special token ({@link PadToken#addedSpecial}).
     */
    public static ClipTokenizer load(Path folder) throws IOException {
        Map<String, Integer> vocab = readVocab(folder.resolve("vocab.json"));
        BpeMerges merges = BpeMerges.read(folder.resolve("merges.txt"));
        JsonNode config = readJsonIfPresent(folder.resolve("tokenizer_config.json"));
        JsonNode specials = readJsonIfPresent(folder.resolve("special_tokens_map.json"));
        String padText = tokenText(specials.path("pad_token"));
        if (padText == null) padText = tokenText(config.path("pad_token"));
        int maxLength = DEFAULT_MAX_LENGTH;
        JsonNode ml = config.path("model_max_length");
        // Some configs say 1e30 ("no limit"); CLIP's position table is what bounds it then.
        if (ml.isNumber() && ml.asDouble() >= 2 && ml.asDouble() <= 4096) maxLength = ml.asInt();
        PadToken pad;
        if (padText == null || padText.equals(END_OF_TEXT)) {
            pad = PadToken.endOfText(require(vocab, END_OF_TEXT));
        } else if (padText.equals(START_OF_TEXT)) {
            pad = new PadToken(require(vocab, START_OF_TEXT), null);
        } else {
            Integer id = vocab.get(padText);
            if (id == null) throw new IOException(folder + ": pad token \"" + padText + "\" is not in vocab.json");
            pad = PadToken.addedSpecial(padText, id);
        }
        return new ClipTokenizer(vocab, merges, pad, maxLength);
    }

    /** From vocab.json and merges.txt files, with an explicit padding convention and max length. */
    public static ClipTokenizer of(Path vocabJson, Path mergesTxt, PadToken pad, int maxLength) throws IOException {
        return new ClipTokenizer(readVocab(vocabJson), BpeMerges.read(mergesTxt), pad, maxLength);
    }

    /** The same vocabulary and merges with another padding convention. */
    public ClipTokenizer withPad(PadToken newPad) {
        return new ClipTokenizer(vocab, merges, newPad, maxLength);
    }

    private static Map<String, Integer> readVocab(Path file) throws IOException {
        JsonNode root = new ObjectMapper().readTree(file.toFile());
        if (!root.isObject()) throw new IOException(file + ": expected a JSON object token -> id");
        Map<String, Integer> vocab = new HashMap<>(root.size() * 2);
        var it = root.fields();
        while (it.hasNext()) {
            var e = it.next();
            if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0)
                throw new IOException(file + ": token \"" + e.getKey() + "\" has id " + e.getValue() + ", expected a non-negative integer");
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        return vocab;
    }

    private static JsonNode readJsonIfPresent(Path file) throws IOException {
        return Files.exists(file) ? new ObjectMapper().readTree(file.toFile()) : new ObjectMapper().createObjectNode();
    }

    /** A special token given as "text" or as {"content": "text", ...}. */
    private static String tokenText(JsonNode n) {
        if (n.isTextual()) return n.asText();
        if (n.isObject() && n.path("content").isTextual()) return n.path("content").asText();
        return null;
    }

    // ---------------------------------------------------------------- encoding

    @Override
    public TokenIds encode(String text) {
        List<Integer> content = new ArrayList<>();
        forEachPiece(text, (piece, special) -> {
            if (special != null) content.add(special);
            else for (int id : idsOf(piece)) content.add(id);
        });
        int[] ids = new int[content.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = content.get(i);
        return Tokenizer.frame(ids, ids.length, maxLength, bos, eos, pad.id());
    }

    /**
     * The BPE result per piece, symbols joined by spaces (e.g. "de composed&lt;/w&gt;"), as CLIP's own
     * {@code bpe()} returns it; special tokens appear as their text. For inspection and tests.
     */
    public List<String> bpeWords(String text) {
        List<String> words = new ArrayList<>();
        forEachPiece(text, (piece, special) -> words.add(special != null ? piece : String.join(" ", merges.apply(ByteUnicode.encode(piece)))));
        return words;
    }

    private interface PieceSink {
        /** {@code special} is the id of a special token, or null for ordinary text to BPE. */
        void accept(String piece, Integer special);
    }

    private void forEachPiece(String text, PieceSink sink) {
        String normalized = TextNormalizer.normalize(text);
        String split = pad.specialText();
        int start = 0;
        while (true) {
            int at = split == null ? -1 : normalized.indexOf(split, start);
            int end = at < 0 ? normalized.length() : at;
            Matcher m = PIECES.matcher(normalized).region(start, end);
            while (m.find()) {
                String piece = m.group();
                if (piece.equalsIgnoreCase(START_OF_TEXT)) sink.accept(piece, bos);
                else if (piece.equalsIgnoreCase(END_OF_TEXT)) sink.accept(piece, eos);
                else sink.accept(piece, null);
            }
            if (at < 0) break;
            sink.accept(split, pad.id());
            start = at + split.length();
        }
    }

    private int[] idsOf(String piece) {
        int[] ids = cache.get(piece);
        if (ids != null) return ids;
        List<String> symbols = merges.apply(ByteUnicode.encode(piece));
        ids = new int[symbols.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = vocab.getOrDefault(symbols.get(i), unk);
        if (cache.size() >= CACHE_LIMIT) cache.clear();
        cache.put(piece, ids);
        return ids;
    }

    // ---------------------------------------------------------------- properties

    @Override
    public int maxLength() { return maxLength; }

    @Override
    public int vocabSize() { return vocabSize; }

    @Override
    public int bosId() { return bos; }

    @Override
    public int eosId() { return eos; }

    @Override
    public int padId() { return pad.id(); }

    public PadToken pad() { return pad; }

    /** Number of BPE merges (48894 for CLIP). */
    public int mergeCount() { return merges.size(); }

    /** The id of a vocabulary token, or -1. */
    public int tokenId(String token) { return vocab.getOrDefault(token, -1); }
}
