package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cpu.OpsCheck.Layout;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.diffuse4j.runtime.cpu.OpsCheck.held;
import static dev.diffuse4j.runtime.cpu.OpsCheck.make;
import static dev.diffuse4j.runtime.cpu.OpsCheck.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LayoutTest {

    // ---------------------------------------------------------------- concat

    @Test
    void concatAlongEveryDimOfMixedLayoutsAndDtypes() {
        Random r = OpsCheck.random("concat");
        int[][] bases = {{5}, {3, 7}, {2, 3, 4, 5}, {2, 4, 4, 33}};
        for (int[] base : bases)
            for (int dim = -base.length; dim < base.length; dim++) {
                int d = dim < 0 ? dim + base.length : dim;
                try (Scope s = Scope.open()) {
                    int pieces = 1 + r.nextInt(3);
                    List<Tensor> xs = new ArrayList<>();
                    List<double[]> vals = new ArrayList<>();
                    List<int[]> shapes = new ArrayList<>();
                    for (int p = 0; p < pieces; p++) {
                        int[] sh = base.clone();
                        sh[d] = r.nextInt(4) == 0 ? 0 : 1 + r.nextInt(5);
                        DType dt = DType.values()[1 + r.nextInt(3)]; // F32, F16, BF16
                        Layout layout = Layout.values()[r.nextInt(3)];
                        Tensor x = make(randn(r, (int) OpsCheck.numel(sh), 1), dt, layout, sh);
                        xs.add(x);
                        vals.add(held(x));
                        shapes.add(sh);
                    }
                    Tensor y = Ops.concat(xs, dim);
                    int total = 0;
                    for (int[] sh : shapes) total += sh[d];
                    int[] outShape = base.clone();
                    outShape[d] = total;
                    assertArrayEquals(outShape, y.shape());
                    assertEquals(xs.stream().map(Tensor::dtype).reduce(DType::promote).orElseThrow(), y.dtype(), "equal float types stay, mixes give F32");
                    float[] got = y.toFloatArray();
                    // Expected: walk the output index space and pick the piece that covers the index along d.
                    int[] idx = new int[outShape.length];
                    for (int i = 0; i < got.length; i++) {
                        int rem = i;
                        for (int k = outShape.length - 1; k >= 0; k--) {
                            idx[k] = rem % outShape[k];
                            rem /= outShape[k];
                        }
                        int along = idx[d], p = 0;
                        while (along >= shapes.get(p)[d]) along -= shapes.get(p++)[d];
                        int[] sh = shapes.get(p);
                        int flat = 0;
                        for (int k = 0; k < sh.length; k++) flat = flat * sh[k] + (k == d ? along : idx[k]);
                        assertEquals(vals.get(p)[flat], got[i], 0.0, "concat dim " + dim + " element " + i);
                    }
                }
            }
    }

    @Test
    void concatKeepsOneIntegerDtypeAndRejectsMixtures() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.ofLongs(new long[]{1, 2, 1L << 40}, 3), b = Tensor.ofLongs(new long[]{-5}, 1);
            Tensor y = Ops.concat(0, a, b);
            assertEquals(DType.I64, y.dtype());
            assertArrayEquals(new long[]{1, 2, 1L << 40, -5}, y.toLongArray());
            Tensor f = Tensor.zeros(2);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.concat(0, a, f));
            assertTrue(e.getMessage().contains("concat") && e.getMessage().contains("I64[3]") && e.getMessage().contains("F32[2]"), e.getMessage());
            Tensor c = Tensor.zeros(2, 3), d = Tensor.zeros(3, 3);
            e = assertThrows(IllegalArgumentException.class, () -> Ops.concat(1, c, d));
            assertTrue(e.getMessage().contains("concat") && e.getMessage().contains("F32[2, 3]") && e.getMessage().contains("F32[3, 3]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Ops.concat(2, c, c));
            assertTrue(e.getMessage().contains("concat") && e.getMessage().contains("dim 2"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------- upsample

    @Test
    void upsampleNearest2xRepeatsEachPixel() {
        Random r = OpsCheck.random("upsample");
        int[][] shapes = {{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 4, 4, 320}, {2, 7, 1, 33}};
        for (int[] shape : shapes)
            for (DType dt : new DType[]{DType.F32, DType.F16})
                for (Layout layout : Layout.values())
                    try (Scope s = Scope.open()) {
                        Tensor x = make(randn(r, (int) OpsCheck.numel(shape), 1), dt, layout, shape);
                        double[] in = held(x);
                        Tensor y = Ops.upsampleNearest2x(x);
                        int b = shape[0], h = shape[1], w = shape[2], c = shape[3];
                        assertArrayEquals(new int[]{b, 2 * h, 2 * w, c}, y.shape());
                        float[] got = y.toFloatArray();
                        for (int i = 0; i < b; i++)
                            for (int yy = 0; yy < 2 * h; yy++)
                                for (int xx = 0; xx < 2 * w; xx++)
                                    for (int ch = 0; ch < c; ch++)
                                        assertEquals(in[((i * h + yy / 2) * w + xx / 2) * c + ch], got[((i * 2 * h + yy) * 2 * w + xx) * c + ch], 0.0);
                    }
        try (Scope s = Scope.open()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.upsampleNearest2x(Tensor.zeros(4, 4, 3)));
            assertTrue(e.getMessage().contains("upsampleNearest2x") && e.getMessage().contains("F32[4, 4, 3]"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------- embedding

    @Test
    void embeddingGathersRowsForI32AndI64Ids() {
        Random r = OpsCheck.random("embedding");
        for (DType tableType : new DType[]{DType.F32, DType.F16, DType.BF16})
            for (int[] idShape : new int[][]{{5}, {2, 77}, {1, 1}})
                for (boolean longs : new boolean[]{false, true})
                    try (Scope s = Scope.open()) {
                        int v = 1 + r.nextInt(500), d = 1 + r.nextInt(100);
                        Tensor table = make(randn(r, v * d, 1), tableType, Layout.values()[r.nextInt(3)], v, d);
                        double[] tv = held(table);
                        int n = (int) OpsCheck.numel(idShape);
                        long[] ids = new long[n];
                        for (int i = 0; i < n; i++) ids[i] = r.nextInt(v);
                        ids[0] = v - 1;
                        Tensor idt;
                        if (longs) idt = Tensor.ofLongs(ids, idShape);
                        else {
                            int[] ints = new int[n];
                            for (int i = 0; i < n; i++) ints[i] = (int) ids[i];
                            idt = Tensor.ofInts(ints, idShape);
                        }
                        Tensor y = Ops.embedding(table, idt);
                        int[] expect = java.util.Arrays.copyOf(idShape, idShape.length + 1);
                        expect[idShape.length] = d;
                        assertArrayEquals(expect, y.shape());
                        float[] got = y.toFloatArray();
                        for (int i = 0; i < n; i++)
                            for (int j = 0; j < d; j++)
                                assertEquals(tv[(int) ids[i] * d + j], got[i * d + j], 0.0);
                    }
    }

    @Test
    void embeddingAcceptsStridedIds() {
        try (Scope s = Scope.open()) {
            Tensor table = make(new float[]{0, 1, 10, 11, 20, 21}, 3, 2);
            Tensor ids = Tensor.ofInts(new int[]{0, 1, 2, 2, 1, 0}, 2, 3).transpose(0, 1); // [[0,2],[1,1],[2,0]]
            assertArrayEquals(new float[]{0, 1, 20, 21, 10, 11, 10, 11, 20, 21, 0, 1}, Ops.embedding(table, ids).toFloatArray());
        }
    }

    @Test
    void embeddingRejectsOutOfRangeIdsClearly() {
        try (Scope s = Scope.open()) {
            Tensor table = Tensor.zeros(10, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.embedding(table, Tensor.ofInts(new int[]{3, 10}, 2)));
            assertTrue(e.getMessage().contains("embedding") && e.getMessage().contains("id 10") && e.getMessage().contains("F32[10, 4]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Ops.embedding(table, Tensor.ofLongs(new long[]{-1}, 1)));
            assertTrue(e.getMessage().contains("id -1"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Ops.embedding(table, Tensor.zeros(2)));
            assertTrue(e.getMessage().contains("embedding") && e.getMessage().contains("integer"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------- timestep embedding

    /** diffusers get_timestep_embedding restated step by step in float32 (torch's dtype for every step). */
    static float[] diffusersTimestepEmbedding(float[] t, int dim, boolean flip, float shift, float maxPeriod) {
        int half = dim / 2;
        float[] out = new float[t.length * dim];
        for (int b = 0; b < t.length; b++)
            for (int i = 0; i < half; i++) {
                float exponent = (float) -Math.log(maxPeriod) * (float) i;          // -log(max_period) * arange(half)
                exponent = exponent / (float) (half - (double) shift);             // / (half - shift)
                float arg = t[b] * (float) Math.exp(exponent);                      // t[:, None] * exp(exponent)[None]
                float sin = (float) Math.sin(arg), cos = (float) Math.cos(arg);
                out[b * dim + (flip ? half + i : i)] = sin;
                out[b * dim + (flip ? i : half + i)] = cos;
            }
        return out;
    }

    @Test
    void timestepEmbeddingFollowsDiffusers() {
        Random r = OpsCheck.random("timestepEmbedding");
        float[] t = {0f, 1f, 999f, 500.5f, (float) r.nextInt(1000), r.nextFloat() * 1000};
        for (int dim : new int[]{1, 2, 7, 320, 256})
            for (boolean flip : new boolean[]{false, true})
                for (float shift : new float[]{0f, 1f})
                    try (Scope s = Scope.open()) {
                        if (dim / 2 - shift == 0) continue;
                        float[] got = Ops.timestepEmbedding(Tensor.of(t, t.length), dim, flip, shift).toFloatArray();
                        float[] expect = diffusersTimestepEmbedding(t, dim, flip, shift, 10000f);
                        assertArrayEquals(expect, got, "dim " + dim + " flip " + flip + " shift " + shift);
                        // And against the formula in float64: float32 rounding of the exponent (|e| <= ln 10^4, so
                        // ~5e-7 absolute), of freq and of t * freq separate them.
                        int half = dim / 2;
                        for (int b = 0; b < t.length; b++)
                            for (int i = 0; i < half; i++) {
                                double f = Math.exp(-Math.log(10000) * i / (half - shift)), arg = t[b] * f;
                                double tol = 2e-6 * Math.abs(arg) + 4 * Math.ulp((float) arg) + 1e-6;
                                assertEquals(Math.sin(arg), got[b * dim + (flip ? half + i : i)], tol);
                                assertEquals(Math.cos(arg), got[b * dim + (flip ? i : half + i)], tol);
                            }
                        if (dim % 2 == 1) for (int b = 0; b < t.length; b++) assertEquals(0f, got[b * dim + dim - 1]);
                    }
    }

    @Test
    void timestepEmbeddingTakesIntegerTimestepsAndChecksShapes() {
        try (Scope s = Scope.open()) {
            float[] fromInts = Ops.timestepEmbedding(Tensor.ofLongs(new long[]{981, 1}, 2), 320, true, 0f).toFloatArray();
            float[] fromFloats = Ops.timestepEmbedding(Tensor.of(new float[]{981, 1}, 2), 320, true, 0f).toFloatArray();
            assertArrayEquals(fromFloats, fromInts);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.timestepEmbedding(Tensor.zeros(2, 1), 320, true, 0f));
            assertTrue(e.getMessage().contains("timestepEmbedding") && e.getMessage().contains("F32[2, 1]"), e.getMessage());
        }
    }
}
