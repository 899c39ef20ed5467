package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionResult;
import dev.diffuse4j.runtime.ops.Conv2dParams;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The result-dtype contract of {@link dev.diffuse4j.runtime.ops.Backend} on the CPU: an op over
 * half-precision activations returns its F32 result rounded once to that type, i.e. exactly
 * {@code cast(op(widen(inputs)), half)}; mixed operands give F32.
 */
class HalfStorageTest {
    private static final Random R = OpsCheck.random("HalfStorageTest");

    /** Values exactly representable in {@code t}, as a tensor of that type. */
    private static Tensor half(DType t, float scale, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        try (Tensor f = Tensor.of(OpsCheck.randn(R, n, scale), shape)) {
            return Ops.cast(f, t);
        }
    }

    private static Tensor widen(Tensor x) { return Ops.cast(x, DType.F32); }

    /** op over the half inputs equals the F32 op over their widened copies, rounded once. */
    private static void assertRoundedOnce(DType t, String op, Function<List<Tensor>, Tensor> f, Tensor... halves) {
        List<Tensor> in = List.of(halves);
        List<Tensor> wide = in.stream().map(HalfStorageTest::widen).toList();
        try (Tensor got = f.apply(in); Tensor ref = f.apply(wide); Tensor expected = Ops.cast(ref, t)) {
            assertEquals(t, got.dtype(), op + ": result dtype");
            assertEquals(DType.F32, ref.dtype(), op + ": F32 inputs keep F32 results");
            assertArrayEquals(expected.toFloatArray(), got.toFloatArray(), 0f, op + ": rounded once from the F32 result");
        } finally {
            wide.forEach(Tensor::close);
            in.forEach(Tensor::close);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void everyForwardOpStoresItsInputType(DType t) {
        assertRoundedOnce(t, "matmul", x -> Ops.matmul(x.get(0), x.get(1), false, true), half(t, 1, 2, 7, 24), half(t, 1, 2, 5, 24));
        assertRoundedOnce(t, "linear", x -> Ops.linear(x.get(0), x.get(1), x.get(2)), half(t, 1, 3, 9, 16), half(t, 0.3f, 11, 16), half(t, 1, 11));
        assertRoundedOnce(t, "conv2d", x -> Ops.conv2d(x.get(0), x.get(1), x.get(2), Conv2dParams.of(1, 1), x.get(3)),
                half(t, 1, 1, 6, 5, 8), half(t, 0.2f, 4, 3, 3, 8), half(t, 1, 4), half(t, 1, 1, 6, 5, 4));
        assertRoundedOnce(t, "groupNormSilu", x -> Ops.groupNormSilu(x.get(0), 4, x.get(1), x.get(2), 1e-5f),
                half(t, 3, 2, 4, 4, 16), half(t, 1, 16), half(t, 1, 16));
        assertRoundedOnce(t, "layerNorm", x -> Ops.layerNorm(x.get(0), x.get(1), x.get(2), 1e-5f), half(t, 3, 5, 24), half(t, 1, 24), half(t, 1, 24));
        assertRoundedOnce(t, "softmax", x -> Ops.softmax(x.get(0)), half(t, 4, 6, 33));
        assertRoundedOnce(t, "gelu", x -> Ops.gelu(x.get(0)), half(t, 2, 70));
        assertRoundedOnce(t, "add (broadcast)", x -> Ops.add(x.get(0), x.get(1)), half(t, 1, 4, 9), half(t, 1, 9));
        assertRoundedOnce(t, "affine", x -> Ops.affine(x.get(0), 0.37f, -1.5f), half(t, 2, 50));
        assertRoundedOnce(t, "geglu", x -> Ops.geglu(x.get(0)), half(t, 2, 3, 20));
        assertRoundedOnce(t, "concat", x -> Ops.concat(1, x.get(0), x.get(1)), half(t, 1, 2, 3, 4), half(t, 1, 2, 5, 4));
        assertRoundedOnce(t, "upsample", x -> Ops.upsampleNearest2x(x.get(0)), half(t, 1, 1, 3, 2, 4));
        assertRoundedOnce(t, "timestepEmbedding", x -> Ops.timestepEmbedding(x.get(0), 32, true, 0f), Ops.cast(Tensor.of(new float[]{1, 500, 999}, 3), t));
        assertRoundedOnce(t, "attention", x -> Ops.attention(x.get(0), x.get(1), x.get(2), 2), half(t, 1, 2, 9, 16), half(t, 1, 2, 7, 16), half(t, 1, 2, 7, 16));
    }

    @Test
    void embeddingStoresTheTableType() {
        try (Tensor table = half(DType.F16, 1, 10, 8); Tensor ids = Tensor.ofInts(new int[]{3, 0, 9}, 3); Tensor rows = Ops.embedding(table, ids)) {
            assertEquals(DType.F16, rows.dtype());
            float[] t = table.toFloatArray(), got = rows.toFloatArray();
            for (int i = 0; i < 8; i++) assertEquals(t[9 * 8 + i], got[2 * 8 + i]);
        }
    }

    @Test
    void mixedOperandsGiveF32AndMapsStayF32() {
        try (Tensor a = half(DType.F16, 1, 4, 8); Tensor b = Tensor.of(OpsCheck.randn(R, 32, 1), 4, 8); Tensor c = half(DType.BF16, 1, 4, 8);
             Tensor ab = Ops.add(a, b); Tensor ac = Ops.mul(a, c); Tensor cat = Ops.concat(0, a, c)) {
            assertEquals(DType.F32, ab.dtype());
            assertEquals(DType.F32, ac.dtype());
            assertEquals(DType.F32, cat.dtype());
        }
        try (Tensor q = half(DType.F16, 1, 1, 5, 8); Tensor k = half(DType.F16, 1, 1, 6, 8); Tensor v = half(DType.F16, 1, 1, 6, 8)) {
            AttentionResult r = Ops.attention(AttentionCall.plain(q, k, v, 1).withCapture(0));
            try (Tensor out = r.out(); Tensor maps = r.maps()) {
                assertEquals(DType.F16, out.dtype());
                assertEquals(DType.F32, maps.dtype(), "maps are probabilities summed over heads: kept F32");
            }
        }
    }
}
