package dev.diffuse4j.model.clip;

import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.autograd.Gradients;
import dev.diffuse4j.runtime.autograd.Tape;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CLIP text encoder is differentiable with respect to its token embedding table (the textual
 * inversion case: embedding scatter-add, positions, causal attention, LayerNorm, quick-GELU MLPs, pooling).
 */
class ClipGradientTest {
    private static final String PREFIX = "cond_stage_model.transformer.";
    private static final String TABLE = "text_model.embeddings.token_embedding.weight";

    private static double loss(ClipTextConfig c, TinyClip.Weights w, Tensor table, Tensor ids, Tensor wHidden, Tensor wPooled) {
        try (var src = TinyClip.transformersCheckpoint(w, PREFIX).put(PREFIX + TABLE, table.share());
             ClipTextModel m = ClipTextModel.load(c, src, dev.diffuse4j.model.clip.ClipWeightLayout.SD15_SINGLE_FILE, Device.CPU);
             ClipTextOutput out = m.forward(ids)) {
            return dot(wHidden, out.lastHiddenState()) + dot(wPooled, out.pooled());
        }
    }

    private static double dot(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        double s = 0;
        for (int i = 0; i < x.length; i++) s += (double) x[i] * y[i];
        return s;
    }

    private static Tensor random(Random r, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }

    @Test
    void gradientWrtTokenEmbeddingTable() {
        ClipTextConfig c = TinyClip.config(ClipActivation.QUICK_GELU, false);
        TinyClip.Weights w = TinyClip.random(c, 21);
        Random r = new Random(3);
        try (Scope s = Scope.open()) {
            Tensor ids = Tensor.ofLongs(new long[]{256, 10, 20, 10, 257, 257, 256, 99, 257, 257, 257, 257}, 2, 6);
            Tensor table0 = Tensor.of(w.get(TABLE), w.shape(TABLE));
            Tensor wHidden = random(r, 2, 6, c.hiddenSize()), wPooled = random(r, 2, c.hiddenSize()), v = random(r, w.shape(TABLE));
            double directional;
            try (Tape tape = Tape.record();
                 var src = TinyClip.transformersCheckpoint(w, PREFIX)) {
                Tensor table = tape.watch(table0);
                src.put(PREFIX + TABLE, table.share());
                try (ClipTextModel m = ClipTextModel.load(c, src, ClipWeightLayout.SD15_SINGLE_FILE, Device.CPU)) {
                    ClipTextOutput out = m.forward(ids);
                    Gradients g = tape.backward(Map.of(out.lastHiddenState(), wHidden, out.pooled(), wPooled));
                    directional = dot(g.of(table), v);
                    float[] gt = g.of(table).toFloatArray();
                    int d = c.hiddenSize();
                    for (int row = 0; row < 258; row++) {  // only the rows of the ids that occur receive gradient
                        boolean used = row == 256 || row == 257 || row == 10 || row == 20 || row == 99;
                        double norm = 0;
                        for (int j = 0; j < d; j++) norm += Math.abs(gt[row * d + j]);
                        assertEquals(used, norm > 0, "table row " + row);
                    }
                }
            }
            double h = 1e-2;
            float[] t0 = table0.toFloatArray(), dv = v.toFloatArray(), plus = t0.clone(), minus = t0.clone();
            for (int i = 0; i < t0.length; i++) { plus[i] += (float) (h * dv[i]); minus[i] -= (float) (h * dv[i]); }
            double fd = (loss(c, w, Tensor.of(plus, w.shape(TABLE)), ids, wHidden, wPooled)
                    - loss(c, w, Tensor.of(minus, w.shape(TABLE)), ids, wHidden, wPooled)) / (2 * h);
            assertTrue(Math.abs(fd) > 1e-3);
            assertEquals(fd, directional, 2e-3 * Math.abs(fd) + 1e-4, "directional derivative vs finite difference");
        }
    }
}
