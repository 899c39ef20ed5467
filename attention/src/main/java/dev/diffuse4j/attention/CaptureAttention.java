package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.Attention;
import dev.diffuse4j.model.attention.AttentionProcessor;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionResult;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.function.Predicate;

/**
 * Plain attention that also hands its head-averaged probabilities to a {@link MapSink}: per text token
 * for cross-attention, per key position for self-attention. The output is exactly plain attention's;
 * steps the filter rejects are not captured.
 */
public final class CaptureAttention implements AttentionProcessor {
    private final MapSink sink;
    private final Predicate<StepContext> steps;

    public CaptureAttention(MapSink sink, Predicate<StepContext> steps) {
        this.sink = sink;
        this.steps = steps;
    }

    public CaptureAttention(MapSink sink) { this(sink, s -> true); }

    @Override
    public Tensor process(Attention attn, Tensor hidden, Tensor context, LayerInfo layer, StepContext step) {
        if (!steps.test(step)) return attn.plain(hidden, context);
        try (Scope s = Scope.open()) {
            Tensor source = context == null ? hidden : context;
            Tensor q = attn.query(hidden), k = attn.key(source), v = attn.value(source);
            AttentionResult r = Ops.attention(AttentionCall.plain(q, k, v, attn.heads()).withCapture(0));
            sink.accept(layer, step, r.maps());
            return s.keep(attn.out(r.out()));
        }
    }
}
