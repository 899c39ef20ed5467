package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.Attention;
import dev.diffuse4j.model.attention.AttentionProcessor;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.Tensor;

import java.util.function.Predicate;

/** One processor on the steps a selector picks, another elsewhere ("stratified for the first 10 steps, then KV concat"). */
public record PerStep(Predicate<StepContext> when, AttentionProcessor then, AttentionProcessor otherwise) implements AttentionProcessor {
    /** {@code then} on the selected steps, plain attention elsewhere. */
    public static PerStep only(Predicate<StepContext> when, AttentionProcessor then) { return new PerStep(when, then, PLAIN); }

    @Override
    public Tensor process(Attention attn, Tensor hidden, Tensor context, LayerInfo layer, StepContext step) {
        return (when.test(step) ? then : otherwise).process(attn, hidden, context, layer, step);
    }
}
