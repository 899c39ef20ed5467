package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.Attention;
import dev.diffuse4j.model.nn.ParamStore;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/** Random attention layers and inputs for processor tests (seed printed by the callers). */
final class ProcessorFixtures {
    private ProcessorFixtures() {}

    static Tensor random(Random r, int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return Scope.detach(Tensor.of(v, shape));
    }

    /** A self-attention layer of width dim with random weights (the caller keeps the returned map alive). */
    static Attention layer(Random r, int dim, int heads, Map<String, Tensor> keep) {
        Map<String, Tensor> w = new HashMap<>();
        double s = 1 / Math.sqrt(dim);
        for (String n : new String[]{"to_q", "to_k", "to_v", "to_out.0"}) {
            Tensor t = random(r, dim, dim);
            float[] v = t.toFloatArray();
            for (int i = 0; i < v.length; i++) v[i] *= (float) s;
            t.close();
            w.put(n + ".weight", Scope.detach(Tensor.of(v, dim, dim)));
        }
        w.put("to_out.0.bias", random(r, dim));
        keep.putAll(w);
        return Attention.of(Params.root(ParamStore.of(w)), dim, dim, heads, false);
    }

    static float[] row(Tensor t, int b) {
        try (Tensor r = t.select(0, b)) {
            return r.toFloatArray();
        }
    }
}
