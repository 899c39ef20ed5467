package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.tokenizer.TokenIds;
import dev.diffuse4j.model.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * Finds the text-token positions of guided subjects, 1-based as the A&E family counts them (0 is the
 * start token): "a cat and a frog" -> cat = 2, frog = 5 with the CLIP tokenizer. A word that the
 * tokenizer splits into several tokens is represented by its last token.
 */
public final class SubjectTokens {
    private SubjectTokens() {}

    /** The position of each word in the prompt; a word that is not there is an error naming it. */
    public static int[] ofWords(Tokenizer tokenizer, String prompt, List<String> words) {
        if (words.isEmpty()) throw new IllegalArgumentException("no subjects given: name the subject words of the prompt");
        TokenIds p = tokenizer.encode(prompt);
        int[] ids = p.ids();
        int[] out = new int[words.size()];
        for (int k = 0; k < words.size(); k++) {
            String word = words.get(k).strip();
            if (word.isEmpty()) throw new IllegalArgumentException("subject " + (k + 1) + " is an empty word");
            TokenIds w = tokenizer.encode(word);
            int[] seq = Arrays.copyOfRange(w.ids(), 1, 1 + w.contentCount());
            int at = find(ids, 1, 1 + p.contentCount(), seq);
            if (seq.length == 0 || at < 0)
                throw new IllegalArgumentException("subject '" + word + "' is not among the tokens of the prompt \"" + prompt + "\""
                        + (p.truncated() ? " (the prompt was truncated to " + tokenizer.maxLength() + " tokens)" : ""));
            out[k] = at + seq.length - 1;
        }
        return checkDistinct(out, words.toString());
    }

    /** Explicit positions, checked against the prompt's content tokens. */
    public static int[] ofIndices(Tokenizer tokenizer, String prompt, int[] indices) {
        if (indices.length == 0) throw new IllegalArgumentException("no subject indices given");
        int content = tokenizer.encode(prompt).contentCount();
        for (int i : indices)
            if (i < 1 || i > content)
                throw new IllegalArgumentException("subject index " + i + " is outside the prompt's tokens 1.." + content
                        + " (1-based; 0 is the start token)");
        return checkDistinct(indices.clone(), Arrays.toString(indices));
    }

    private static int[] checkDistinct(int[] idx, String what) {
        if (Arrays.stream(idx).distinct().count() != idx.length)
            throw new IllegalArgumentException("subjects " + what + " name the same token twice (positions " + Arrays.toString(idx) + ")");
        return idx;
    }

    private static int find(int[] ids, int from, int to, int[] seq) {
        outer:
        for (int i = from; i + seq.length <= to; i++) {
            for (int j = 0; j < seq.length; j++) if (ids[i + j] != seq[j]) continue outer;
            return i;
        }
        return -1;
    }
}
