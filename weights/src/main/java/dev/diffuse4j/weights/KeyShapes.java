package dev.diffuse4j.weights;

import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Key and shape lookups under a prefix of a checkpoint, for inferring a model's config from its
 * weights; every error names the source, the model part ({@code what}) and the key.
 */
public record KeyShapes(TensorSource src, String prefix, String what) {
    public boolean has(String key) { return src.contains(prefix + key); }

    /** The shape of {@code prefix + key}, which must exist (and have the given rank unless it is negative). */
    public int[] need(String key, int rank) {
        if (!has(key)) throw new IllegalArgumentException(src.describe() + ": " + what + " key " + prefix + key + " is missing");
        int[] shape = src.info(prefix + key).shape();
        if (rank >= 0 && shape.length != rank)
            throw new IllegalArgumentException(src.describe() + ": " + prefix + key + " has rank " + shape.length + ", expected " + rank);
        return shape;
    }

    /** The integers i with keys {@code <prefix><under>.<i>.*}; at least one must exist. */
    public TreeSet<Integer> indices(String under) {
        String base = prefix + (under.endsWith(".") ? under : under + ".");
        Pattern p = Pattern.compile(Pattern.quote(base) + "(\\d+)\\..*");
        TreeSet<Integer> out = new TreeSet<>();
        for (String k : src.keys()) {
            Matcher m = p.matcher(k);
            if (m.matches()) out.add(Integer.parseInt(m.group(1)));
        }
        if (out.isEmpty()) throw new IllegalArgumentException(src.describe() + ": no keys under " + base);
        return out;
    }

    /** Like {@link #indices} and the indices must be exactly 0..n-1. */
    public TreeSet<Integer> consecutive(String under) {
        TreeSet<Integer> out = indices(under);
        if (out.last() != out.size() - 1)
            throw new IllegalArgumentException(src.describe() + ": indices under " + prefix + under + " are not 0.." + (out.size() - 1) + ": " + out);
        return out;
    }
}
