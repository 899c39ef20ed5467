package dev.diffuse4j.model.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Byte-pair merges ranked by their line in merges.txt: a word (byte-unicode characters, the last one
 * carrying the end-of-word marker) is merged greedily, lowest-ranked adjacent pair first, until no
 * adjacent pair has a rank.
 */
final class BpeMerges {
    static final String END_OF_WORD = "</w>";

    private final Map<String, Integer> ranks; // "left right" -> rank; symbols never contain ' '

    private BpeMerges(Map<String, Integer> ranks) { this.ranks = ranks; }

    /** Reads merges.txt: an optional "#version" line, then one "left right" pair per line, in rank order. */
    static BpeMerges read(Path file) throws IOException {
        Map<String, Integer> ranks = new HashMap<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            lineNo++;
            if (line.isEmpty() || (lineNo == 1 && line.startsWith("#version"))) continue;
            int sp = line.indexOf(' ');
            if (sp <= 0 || sp == line.length() - 1 || line.indexOf(' ', sp + 1) >= 0)
                throw new IOException(file + " line " + lineNo + ": expected two symbols separated by one space, got \"" + line + "\"");
            ranks.putIfAbsent(line, ranks.size());
        }
        if (ranks.isEmpty()) throw new IOException(file + ": no merges");
        return new BpeMerges(ranks);
    }

    static BpeMerges none() { return new BpeMerges(Map.of()); }

    int size() { return ranks.size(); }

    /** BPE symbols of one pre-tokenised word given as byte-unicode characters; the last symbol ends with "</w>". */
    List<String> apply(String word) {
        List<String> symbols = new ArrayList<>(word.length());
        for (int i = 0; i < word.length(); i++) symbols.add(String.valueOf(word.charAt(i)));
        if (symbols.isEmpty()) return symbols;
        symbols.set(symbols.size() - 1, symbols.getLast() + END_OF_WORD);
        while (symbols.size() > 1) {
            int best = Integer.MAX_VALUE;
            String bestLeft = null, bestRight = null;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer r = ranks.get(symbols.get(i) + ' ' + symbols.get(i + 1));
                if (r != null && r < best) {
                    best = r;
                    bestLeft = symbols.get(i);
                    bestRight = symbols.get(i + 1);
                }
            }
            if (bestLeft == null) break;
            // Merge every occurrence of the best pair, left to right, without overlaps.
            List<String> merged = new ArrayList<>(symbols.size());
            for (int i = 0; i < symbols.size(); i++) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(bestLeft) && symbols.get(i + 1).equals(bestRight)) {
                    merged.add(bestLeft + bestRight);
                    i++;
                } else {
                    merged.add(symbols.get(i));
                }
            }
            symbols = merged;
        }
        return symbols;
    }
}
