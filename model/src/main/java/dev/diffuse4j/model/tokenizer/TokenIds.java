package dev.diffuse4j.model.tokenizer;

import java.util.Arrays;

/**
 * One prompt as a fixed-length id sequence: [bos] + content + [eos] + padding.
 *
 * @param ids          exactly the tokenizer's max length ids
 * @param contentCount content tokens kept (between bos and eos)
 * @param droppedCount content tokens cut off by truncation (pipelines warn when this is not 0)
 */
public record TokenIds(int[] ids, int contentCount, int droppedCount) {
    public TokenIds {
        ids = ids.clone();
    }

    @Override
    public int[] ids() { return ids.clone(); }

    public int length() { return ids.length; }

    public boolean truncated() { return droppedCount > 0; }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenIds t && Arrays.equals(ids, t.ids) && contentCount == t.contentCount && droppedCount == t.droppedCount;
    }

    @Override
    public int hashCode() { return Arrays.hashCode(ids) * 31 + contentCount * 7 + droppedCount; }

    @Override
    public String toString() {
        return "TokenIds" + Arrays.toString(ids) + " (" + contentCount + " content, " + droppedCount + " dropped)";
    }
}
