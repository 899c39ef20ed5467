package dev.diffuse4j.weights;

import dev.diffuse4j.runtime.Tensor;

import java.util.Set;

/**
 * A set of named tensors: a safetensors file, a sharded set, a diffusers component folder, or the
 * deterministic weight rule. {@link #tensor} is zero-copy for memory-mapped files; the returned
 * tensor is the caller's to close (closing it never invalidates the source).
 */
public interface TensorSource extends AutoCloseable {
    /** All keys, in a stable order. */
    Set<String> keys();

    /** Metadata of one key; throws {@link WeightsException} naming the key when it is absent. */
    TensorInfo info(String key);

    default boolean contains(String key) { return keys().contains(key); }

    /** The tensor for a key (a view into mapped memory where possible). */
    Tensor tensor(String key);

    /** Where the tensors come from, for messages ("/models/x.safetensors"). */
    String describe();

    @Override
    void close();
}
