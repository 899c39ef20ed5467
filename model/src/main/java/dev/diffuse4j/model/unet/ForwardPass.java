package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.attention.Attention;
import dev.diffuse4j.model.attention.AttentionProcessors;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.model.nn.GroupNormProcessor;
import dev.diffuse4j.runtime.Tensor;

/** What the blocks of one forward pass share: the installed processors, the step, an observer, the norm processor. */
public record ForwardPass(AttentionProcessors processors, StepContext step, UNetObserver observer, GroupNormProcessor norms) {
    public ForwardPass {
        if (step == null) step = StepContext.NONE;
        if (observer == null) observer = UNetObserver.NONE;
        if (norms == null) norms = GroupNormProcessor.PLAIN;
    }

    public ForwardPass(AttentionProcessors processors, StepContext step, UNetObserver observer) {
        this(processors, step, observer, GroupNormProcessor.PLAIN);
    }

    /** Runs one attention layer through its installed processor, at the grid size of this call. */
    public Tensor attend(Attention attn, LayerInfo layer, Tensor hidden, Tensor context, int height, int width) {
        LayerInfo at = layer.at(height, width);
        Tensor out = processors.get(layer).process(attn, hidden, layer.isSelf() ? null : context, at, step);
        if (out == null || out.rank() != 3 || out.dim(0) != hidden.dim(0) || out.dim(1) != hidden.dim(1) || out.dim(2) != hidden.dim(2))
            throw new IllegalStateException("attention processor of " + layer.name() + " returned " + (out == null ? "null" : out.describe())
                    + " for hidden states " + hidden.describe());
        return out;
    }

    public void observe(String module, Tensor value) { observer.output(module, value); }
}
