package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.Tensor;

/** Receives head-averaged attention probabilities [B, Nq, Nk] of one layer at one step. */
@FunctionalInterface
public interface MapSink {
    /** The maps tensor belongs to the caller and is closed after the call: copy what you keep. */
    void accept(LayerInfo layer, StepContext step, Tensor maps);

    /** Hands every map to both sinks, {@code a} first. */
    static MapSink both(MapSink a, MapSink b) {
        return (layer, step, maps) -> {
            a.accept(layer, step, maps);
            b.accept(layer, step, maps);
        };
    }
}
