package dev.diffuse4j.weights;

import dev.diffuse4j.runtime.Tensor;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Some keys of another source under their original names (a single-file checkpoint's component, or
 * a checkpoint-owned source handed out). Closing it does nothing: the owner closes the parent.
 */
final class KeySubset implements TensorSource {
    private final TensorSource parent;
    private final Set<String> keys;
    private final String description;

    KeySubset(TensorSource parent, Set<String> keys, String description) {
        this.parent = parent;
        this.keys = Collections.unmodifiableSet(new LinkedHashSet<>(keys));
        this.description = description;
    }

    @Override
    public Set<String> keys() { return keys; }

    @Override
    public boolean contains(String key) { return keys.contains(key); }

    @Override
    public TensorInfo info(String key) {
        check(key);
        return parent.info(key);
    }

    @Override
    public Tensor tensor(String key) {
        check(key);
        return parent.tensor(key);
    }

    private void check(String key) {
        if (!keys.contains(key)) throw new WeightsException(description + " has no tensor \"" + key + "\"");
    }

    @Override
    public String describe() { return description; }

    /** The parent belongs to the checkpoint that handed this out. */
    @Override
    public void close() {}
}
