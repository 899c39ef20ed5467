package dev.diffuse4j.model.attention;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * The processor of every attention layer of one model, indexed by {@link LayerInfo#index()}.
 * All layers start with {@link AttentionProcessor#PLAIN}. Not thread-safe: install between passes.
 */
public final class AttentionProcessors {
    private final List<LayerInfo> layers;
    private final AttentionProcessor[] processors;

    public AttentionProcessors(List<LayerInfo> layers) {
        this.layers = List.copyOf(layers);
        for (int i = 0; i < this.layers.size(); i++)
            if (this.layers.get(i).index() != i)
                throw new IllegalArgumentException("layer " + this.layers.get(i).name() + " has index " + this.layers.get(i).index() + ", expected " + i);
        this.processors = new AttentionProcessor[layers.size()];
        reset();
    }

    /** Every layer, in diffusers' attn_processors order. */
    public List<LayerInfo> layers() { return layers; }

    /** Installs {@code p} on every layer the predicate selects; returns how many layers it selected. */
    public int install(Predicate<LayerInfo> which, AttentionProcessor p) {
        Objects.requireNonNull(p, "processor");
        int n = 0;
        for (LayerInfo l : layers) {
            if (which.test(l)) {
                processors[l.index()] = p;
                n++;
            }
        }
        return n;
    }

    /** Installs {@code p} on every layer. */
    public void installAll(AttentionProcessor p) { install(l -> true, p); }

    /** Installs {@code p} on the layer of that diffusers name; unknown names are an error. */
    public void install(String name, AttentionProcessor p) {
        if (install(l -> l.name().equals(name), p) == 0)
            throw new IllegalArgumentException("no attention layer named '" + name + "'");
    }

    /** True when every layer's processor is {@link AttentionProcessor#PLAIN} or {@link AttentionProcessor#stepInvariant()}. */
    public boolean allStepInvariant() {
        for (AttentionProcessor p : processors) if (p != AttentionProcessor.PLAIN && !p.stepInvariant()) return false;
        return true;
    }

    /** Back to plain attention everywhere. */
    public void reset() { Arrays.fill(processors, AttentionProcessor.PLAIN); }

    public AttentionProcessor get(LayerInfo layer) { return processors[layer.index()]; }

    /** The layers a predicate selects, in order. */
    public List<LayerInfo> select(Predicate<LayerInfo> which) {
        List<LayerInfo> out = new ArrayList<>();
        for (LayerInfo l : layers) if (which.test(l)) out.add(l);
        return Collections.unmodifiableList(out);
    }
}
