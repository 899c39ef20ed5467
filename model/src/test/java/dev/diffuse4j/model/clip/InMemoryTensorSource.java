package dev.diffuse4j.model.clip;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.weights.TensorInfo;
import dev.diffuse4j.weights.TensorSource;
import dev.diffuse4j.weights.WeightsException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** A checkpoint held in memory, for tests. Owns its tensors. */
final class InMemoryTensorSource implements TensorSource {
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    InMemoryTensorSource put(String key, Tensor t) {
        Tensor old = tensors.put(key, t);
        if (old != null) old.close();
        return this;
    }

    InMemoryTensorSource remove(String key) {
        Tensor old = tensors.remove(key);
        if (old != null) old.close();
        return this;
    }

    @Override
    public Set<String> keys() { return Collections.unmodifiableSet(tensors.keySet()); }

    @Override
    public TensorInfo info(String key) {
        Tensor t = tensors.get(key);
        if (t == null) throw new WeightsException("no tensor " + key + " in " + describe());
        return new TensorInfo(key, t.dtype(), t.shape());
    }

    @Override
    public Tensor tensor(String key) {
        Tensor t = tensors.get(key);
        if (t == null) throw new WeightsException("no tensor " + key + " in " + describe());
        return t.share();
    }

    @Override
    public String describe() { return "in-memory checkpoint"; }

    @Override
    public void close() { tensors.values().forEach(Tensor::close); tensors.clear(); }
}
