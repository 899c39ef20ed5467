package dev.diffuse4j.attention.guidance;

import dev.diffuse4j.model.attention.Attention;
import dev.diffuse4j.model.attention.AttentionProcessor;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionResult;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Plain attention that keeps the head-averaged probabilities of every layer it runs on, for the
 * guidance losses of one cond-only forward pass (batch 1). The kept map tensors are the very tensors
 * the attention op returned, so when an autograd tape records the pass they are its outputs:
 * {@link #seeds} turns dLoss/d(averaged maps) into the per-layer seeds of {@code Tape.backward}.
 * Install it on the layers of the guidance resolution only (self and cross); close it to free the maps.
 */
public final class GuidanceCapture implements AttentionProcessor, AutoCloseable {
    /** One layer's maps [1, h*w, keys]: text tokens for cross-attention, pixels for self-attention. */
    public record Captured(LayerInfo layer, Tensor maps) {}

    private final List<Captured> captured = new ArrayList<>();

    @Override
    public Tensor process(Attention attn, Tensor hidden, Tensor context, LayerInfo layer, StepContext step) {
        if (hidden.dim(0) != 1)
            throw new IllegalArgumentException("guidance capture runs on a cond-only pass of one image, got a batch of " + hidden.dim(0) + " at " + layer.name());
        try (Scope s = Scope.open()) {
            Tensor source = context == null ? hidden : context;
            Tensor q = attn.query(hidden), k = attn.key(source), v = attn.value(source);
            AttentionResult r = Ops.attention(AttentionCall.plain(q, k, v, attn.heads()).withCapture(0));
            captured.add(new Captured(layer, Scope.detach(r.maps())));
            return s.keep(attn.out(r.out()));
        }
    }

    public List<Captured> captured() { return List.copyOf(captured); }

    /** The maps averaged over the captured layers (heads are averaged by the op), in float64. */
    public GuidanceMaps maps() {
        Captured firstCross = null, firstSelf = null;
        for (Captured c : captured) {
            if (c.layer().isCross() && firstCross == null) firstCross = c;
            if (c.layer().isSelf() && firstSelf == null) firstSelf = c;
        }
        if (firstCross == null || firstSelf == null)
            throw new IllegalStateException("guidance capture saw " + captured.size() + " layers: it needs at least one self- and one cross-attention layer");
        LayerInfo l = firstCross.layer();
        int n = l.tokens(), tokens = firstCross.maps().dim(2);
        double[] cross = mean(true, n * tokens), self = mean(false, n * n);
        return new GuidanceMaps(l.height(), l.width(), tokens, cross, self);
    }

    private double[] mean(boolean cross, int size) {
        double[] sum = new double[size];
        int layers = 0;
        for (Captured c : captured) {
            if (c.layer().isCross() != cross) continue;
            float[] v = host(c.maps());
            if (v.length != size)
                throw new IllegalStateException("guidance capture: " + c.layer().name() + " has " + v.length + " map values, expected " + size
                        + " (capture layers of one resolution only)");
            for (int i = 0; i < size; i++) sum[i] += v[i];
            layers++;
        }
        for (int i = 0; i < size; i++) sum[i] /= layers;
        return sum;
    }

    /** Seeds for {@code Tape.backward}: per captured layer, its share of dLoss/d(averaged map). */
    public Map<Tensor, Tensor> seeds(MapGradient g) {
        int crossLayers = 0, selfLayers = 0;
        for (Captured c : captured) if (c.layer().isCross()) crossLayers++; else selfLayers++;
        Map<Tensor, Tensor> seeds = new IdentityHashMap<>();
        float[] dCross = scaled(g.cross(), 1.0 / crossLayers), dSelf = scaled(g.self(), 1.0 / selfLayers);
        for (Captured c : captured) {
            Tensor seed = Tensor.of(c.layer().isCross() ? dCross : dSelf, c.maps().shape());
            if (!c.maps().device().isCpu()) seed = Ops.to(seed, c.maps().device());
            if (seed.dtype() != c.maps().dtype()) seed = Ops.cast(seed, c.maps().dtype());
            seeds.put(c.maps(), seed);
        }
        return seeds;
    }

    private static float[] scaled(double[] v, double k) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) (v[i] * k);
        return out;
    }

    private static float[] host(Tensor t) {
        if (t.device().isCpu() && t.dtype() == DType.F32) return t.toFloatArray();
        try (Tensor h = Ops.to(t, Device.CPU)) {
            return h.toFloatArray();
        }
    }

    @Override
    public void close() {
        for (Captured c : captured) c.maps().close();
        captured.clear();
    }
}
