package dev.diffuse4j.model.nn;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.weights.ParamSpec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Where model constructors get their parameters from, by full name (diffusers naming) and shape.
 * Models are built twice when loading: once against {@link #recording()} to list the parameters
 * they need (so a checkpoint can be checked as a whole before anything is bound), then against the
 * bound tensors. Constructors therefore only fetch parameters; they never compute with them.
 */
public interface ParamStore {
    /** The parameter {@code name} of the given shape; null while recording. */
    Tensor param(String name, int... shape);

    /** A store that records what is asked for and returns nulls. */
    static Recording recording() { return new Recording(); }

    /** A store over bound tensors; a missing or mis-shaped name is an error naming it. */
    static ParamStore of(Map<String, Tensor> params) {
        return (name, shape) -> {
            Tensor t = params.get(name);
            if (t == null) throw new IllegalStateException("parameter " + name + " " + Arrays.toString(shape) + " was not loaded");
            if (!Arrays.equals(t.shape(), shape))
                throw new IllegalStateException("parameter " + name + " has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape));
            return t;
        };
    }

    final class Recording implements ParamStore {
        private final List<ParamSpec> specs = new ArrayList<>();

        @Override
        public Tensor param(String name, int... shape) {
            specs.add(new ParamSpec(name, shape));
            return null;
        }

        public List<ParamSpec> specs() { return Collections.unmodifiableList(specs); }
    }
}
