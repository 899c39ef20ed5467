package dev.diffuse4j.model.nn;

import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.weights.ParamMapping;
import dev.diffuse4j.weights.ParamSpec;
import dev.diffuse4j.weights.TensorSource;
import dev.diffuse4j.weights.WeightBinder;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The tensors a constructed model holds, owned as one unit and released by {@link #close()}.
 * Loading goes: construct against {@link ParamStore#recording()} (lists the parameters and checks
 * the config), bind them all against the checkpoint ({@link WeightBinder}: every missing, unexpected
 * or mis-shaped key is reported together), then construct against the bound tensors.
 *
 * <p>Weights may be views into the source's memory-mapped file: keep the source open while the
 * model is in use, and close the model before the source.
 */
public final class ModelWeights implements AutoCloseable {
    private final List<Tensor> tensors;
    private boolean closed;

    private ModelWeights(List<Tensor> tensors) { this.tensors = tensors; }

    /** A constructed model and the weights it holds. */
    public record Loaded<M>(M model, ModelWeights weights) {}

    /** The parameters a model asks for (name in model naming, shape). */
    public static List<ParamSpec> specs(Function<ParamStore, ?> factory) {
        ParamStore.Recording rec = ParamStore.recording();
        factory.apply(rec);
        return rec.specs();
    }

    /** Binds and constructs a model with F32 activations on {@code device} (see {@link #load(Function, TensorSource, ParamMapping, Predicate, Predicate, Placement)}). */
    public static <M> Loaded<M> load(Function<ParamStore, M> factory, TensorSource source, ParamMapping mapping,
                                     Predicate<String> componentKeys, Predicate<String> ignorable, Device device) {
        return load(factory, source, mapping, componentKeys, ignorable, Placement.of(device));
    }

    /**
     * Binds and constructs a model.
     *
     * @param factory       builds the model from a store (called twice: recording, then bound)
     * @param componentKeys which source keys belong to this model (for "unexpected" keys)
     * @param ignorable     source keys that may stay unused (buffers)
     * @param at            where the weights go and in which type ({@link Placement#place}), before construction
     */
    public static <M> Loaded<M> load(Function<ParamStore, M> factory, TensorSource source, ParamMapping mapping,
                                     Predicate<String> componentKeys, Predicate<String> ignorable, Placement at) {
        List<ParamSpec> specs = specs(factory);
        // Everything created while loading lands in this scope: on failure it is all freed; on
        // success the live tensors (bound weights, re-laid conv weights) become the model's.
        try (Scope scope = Scope.open()) {
            Map<String, Tensor> bound = place(WeightBinder.bind(specs, source, mapping, componentKeys, ignorable), at);
            M model = factory.apply(ParamStore.of(bound));
            List<Tensor> live = new ArrayList<>();
            for (Tensor t : scope.takeAll()) if (!t.isClosed()) live.add(t);
            return new Loaded<>(model, new ModelWeights(live));
        }
    }

    /**
     * Each bound weight on the placement's device in its storage type, replacing (and closing) the
     * bound tensor where that changes anything; views into a mapped file stay views otherwise.
     */
    public static Map<String, Tensor> place(Map<String, Tensor> bound, Placement at) {
        Map<String, Tensor> placed = new HashMap<>();
        for (Map.Entry<String, Tensor> e : bound.entrySet()) {
            Tensor t = e.getValue();
            if (t.device().equals(at.device()) && at.weightType(t.dtype()) == t.dtype()) {
                placed.put(e.getKey(), t);
            } else {
                placed.put(e.getKey(), at.place(t));
                t.close();
            }
        }
        return placed;
    }

    /** Bytes held by the weights (views of one storage counted once per view). */
    public long byteSize() {
        long n = 0;
        for (Tensor t : tensors) n += t.byteSize();
        return n;
    }

    public int count() { return tensors.size(); }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (Tensor t : tensors) t.close();
        tensors.clear();
    }
}
