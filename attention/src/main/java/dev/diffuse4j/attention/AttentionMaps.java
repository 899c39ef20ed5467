package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * In-memory store of captured attention maps, one host copy per (step, layer) in arrival order. The
 * store owns its tensors; close it to free them.
 */
public final class AttentionMaps implements MapSink, AutoCloseable {
    /** One captured map: layer, step, probabilities [B, Nq, Nk] on the CPU. */
    public record Entry(LayerInfo layer, int step, double timestep, Tensor maps) {}

    private final List<Entry> entries = new ArrayList<>();

    @Override
    public synchronized void accept(LayerInfo layer, StepContext step, Tensor maps) {
        Tensor copy = dev.diffuse4j.runtime.Scope.detach(Ops.to(maps, Device.CPU));
        entries.add(new Entry(layer, step.step(), step.timestep(), copy));
    }

    public synchronized List<Entry> entries() { return Collections.unmodifiableList(new ArrayList<>(entries)); }

    /** Entries of one step, by layer name. */
    public synchronized Map<String, Tensor> atStep(int step) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Entry e : entries) if (e.step() == step) out.put(e.layer().name(), e.maps());
        return out;
    }

    /**
     * The mean over every captured entry whose map has {@code queries} rows (one resolution), for
     * batch item {@code item}: [queries, keys] as a float array, or null when none was captured.
     */
    public synchronized float[] mean(int item, int queries) {
        float[] sum = null;
        int n = 0;
        for (Entry e : entries) {
            Tensor m = e.maps();
            if (m.dim(1) != queries || item >= m.dim(0)) continue;
            try (Tensor row = m.select(0, item)) {
                float[] v = row.toFloatArray();
                if (sum == null) sum = new float[v.length];
                if (v.length != sum.length) continue;
                for (int i = 0; i < v.length; i++) sum[i] += v[i];
                n++;
            }
        }
        if (sum == null) return null;
        for (int i = 0; i < sum.length; i++) sum[i] /= n;
        return sum;
    }

    public synchronized int size() { return entries.size(); }

    @Override
    public synchronized void close() {
        for (Entry e : entries) e.maps().close();
        entries.clear();
    }
}
