package dev.diffuse4j.model.clip;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.weights.TensorInfo;
import dev.diffuse4j.weights.TensorSource;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * A view of a source that reads each key once and shares that tensor on later reads. OpenCLIP's fused
 * in_proj is read three times (q, k, v rows); over a generating or converting source that would build the
 * whole fused tensor three times and keep all three alive through the row views. Closing this view drops
 * its own references only; the wrapped source stays open.
 */
final class ReadOnceSource implements TensorSource {
    private final TensorSource source;
    private final Map<String, Tensor> read = new HashMap<>();

    ReadOnceSource(TensorSource source) { this.source = source; }

    @Override
    public Set<String> keys() { return source.keys(); }

    @Override
    public TensorInfo info(String key) { return source.info(key); }

    @Override
    public boolean contains(String key) { return source.contains(key); }

    @Override
    public Tensor tensor(String key) {
        Tensor t = read.get(key);
        if (t == null) {
            t = source.tensor(key);
            read.put(key, t);
        }
        return t.share();
    }

    @Override
    public String describe() { return source.describe(); }

    @Override
    public void close() {
        read.values().forEach(Tensor::close);
        read.clear();
    }
}
