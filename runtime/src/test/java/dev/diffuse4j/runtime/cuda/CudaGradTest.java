package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Backend;
import dev.diffuse4j.runtime.ops.Backends;
import dev.diffuse4j.runtime.ops.BinaryOp;
import dev.diffuse4j.runtime.ops.Conv2dParams;
import dev.diffuse4j.runtime.ops.NormGrads;
import dev.diffuse4j.runtime.ops.UnaryOp;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;
import java.util.function.BiFunction;

import static dev.diffuse4j.runtime.cuda.CudaTestSupport.backendOrSkip;
import static dev.diffuse4j.runtime.cuda.CudaTestSupport.poison;
import static dev.diffuse4j.runtime.cuda.CudaTestSupport.random;
import static dev.diffuse4j.runtime.cuda.CudaTestSupport.relL2;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reverse-mode primitives of grad.cu ({@link CudaGrad}) against the CPU backend's runtime/cpu/grad
 * on the same (dtype-rounded) inputs: odd sizes, strided views, F16/BF16 inputs, NaN-poisoned outputs.
 * Results are F32 on both backends and computed from identical inputs, so the bound is the F32 one
 * (1e-5) except where F32 cancellation is inherent (GroupNorm's dx: a difference of per-group means
 * taken in F32 on the GPU and in double on the CPU); a wrong index or formula gives O(1) errors.
 * Skipped, with the reason, where no GPU is.
 */
class CudaGradTest {
    private static final double F32_BOUND = 1e-5, CANCELLING_BOUND = 1e-4;

    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);
    private final Backend cpu = Backends.cpu();
    private CudaBackend cuda;

    @BeforeEach
    void open() { cuda = backendOrSkip(); }

    private void parity(String what, double tol, BiFunction<Backend, Tensor[], Tensor> op, Tensor... in) {
        try (Scope s = Scope.open()) {
            Tensor[] gin = new Tensor[in.length];
            for (int i = 0; i < in.length; i++) gin[i] = in[i] == null ? null : cuda.copyFrom(in[i]);
            Tensor ref = op.apply(cpu, in);
            poison(cuda, DType.F32, ref.shape());
            Tensor got = op.apply(cuda, gin);
            compare(what, tol, ref, got);
        }
    }

    private void compare(String what, double tol, Tensor ref, Tensor got) {
        assertEquals(cuda.device(), got.device(), what + " lives on the GPU");
        assertEquals(DType.F32, got.dtype(), what + ": gradients are F32");
        assertArrayEquals(ref.shape(), got.shape(), what + ": shape");
        double err = relL2(ref.toFloatArray(), cuda.toCpu(got).toFloatArray());
        assertTrue(err <= tol, what + ": relative L2 error " + err + " exceeds " + tol + " (seed " + seed + ")");
    }

    // ---------------------------------------------------------------- unaryBackward

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void unaryBackwardOfEveryOp(DType dt) {
        for (UnaryOp op : UnaryOp.values()) {
            float lo = op == UnaryOp.SQRT ? 0.05f : -6f, hi = op == UnaryOp.EXP ? 3f : 6f;
            parity("unaryBackward " + op + " " + dt, F32_BOUND, (b, x) -> b.unaryBackward(op, x[0], x[1]),
                    random(rnd, dt, lo, hi, 3, 37, 11), random(rnd, dt, 3, 37, 11));
        }
        parity("unaryBackward of transposed views " + dt, F32_BOUND, (b, x) -> b.unaryBackward(UnaryOp.GELU_ERF, x[0].transpose(0, 1), x[1].transpose(0, 1)),
                random(rnd, dt, -3f, 3f, 13, 7), random(rnd, dt, 13, 7));
        parity("unaryBackward F32 gradient of " + dt + " input", F32_BOUND, (b, x) -> b.unaryBackward(UnaryOp.SILU, x[0], x[1]),
                random(rnd, dt, -3f, 3f, 5, 9), random(rnd, DType.F32, 5, 9));
    }

    // ---------------------------------------------------------------- sumToShape

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void sumToShapeOverEveryKindOfBroadcast(DType dt) {
        int[][] targets = {{5, 1}, {1}, {3, 1, 7}, {2, 3, 5, 7}, {7}, {2, 1, 5, 1}, {1, 3, 1, 7}};
        for (int[] t : targets)
            parity("sumToShape [2,3,5,7] -> " + java.util.Arrays.toString(t) + " " + dt, F32_BOUND, (b, x) -> b.sumToShape(x[0], t),
                    random(rnd, dt, 2, 3, 5, 7));
        parity("sumToShape of a permuted view " + dt, F32_BOUND, (b, x) -> b.sumToShape(x[0].permute(2, 0, 1), 9, 1, 1),
                random(rnd, dt, 4, 6, 9));
        parity("bias gradient [2, 77, 320] -> [320] " + dt, F32_BOUND, (b, x) -> b.sumToShape(x[0], 320), random(rnd, dt, 2, 77, 320));
        parity("column sums with splits [3000, 3] -> [3] " + dt, F32_BOUND, (b, x) -> b.sumToShape(x[0], 3), random(rnd, dt, 0f, 1f, 3000, 3));
        parity("row sums [4099, 5] -> [4099, 1] " + dt, F32_BOUND, (b, x) -> b.sumToShape(x[0], 4099, 1), random(rnd, dt, 4099, 5));
        parity("full sum with splits [300001] -> [1] " + dt, F32_BOUND, (b, x) -> b.sumToShape(x[0], 1), random(rnd, dt, 0f, 1f, 300001));
        parity("upsample gradient [2,3,2,4,2,6] -> [2,3,1,4,1,6] " + dt, F32_BOUND, (b, x) -> b.sumToShape(x[0], 2, 3, 1, 4, 1, 6),
                random(rnd, dt, 2, 3, 2, 4, 2, 6));
    }

    @Test
    void sumToShapeRejectsANonBroadcastShape() {
        try (Scope s = Scope.open()) {
            Tensor x = cuda.copyFrom(random(rnd, DType.F32, 2, 3));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cuda.sumToShape(x, 4));
            assertTrue(e.getMessage().contains("sumToShape"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------- groupNormBackward

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void groupNormBackwardMatchesTheCpu(DType dt) {
        for (boolean silu : new boolean[]{false, true}) {
            normParity("C=32 G=8 odd positions silu=" + silu + " " + dt, random(rnd, dt, 2, 5, 7, 32), random(rnd, dt, 2, 5, 7, 32),
                    8, random(rnd, DType.F32, 32), random(rnd, DType.F32, 32), 1e-5f, silu);
            normParity("C=6 G=3 no affine silu=" + silu + " " + dt, random(rnd, dt, 3f, 5f, 3, 4, 3, 6), random(rnd, dt, 3, 4, 3, 6),
                    3, null, null, 1e-5f, silu);
            normParity("C=64 G=32 P=4096 (splits) silu=" + silu + " " + dt, random(rnd, dt, 1, 64, 64, 64), random(rnd, dt, 1, 64, 64, 64),
                    32, random(rnd, dt, 64), random(rnd, dt, 64), 1e-6f, silu);
        }
        normParity("C=320 G=32 (channel chunks of 256) " + dt, random(rnd, dt, 2, 3, 5, 320), random(rnd, dt, 2, 3, 5, 320),
                32, random(rnd, DType.F32, 320), null, 1e-5f, true);
        // LayerNorm's use: one group over [rows, 1, C]
        normParity("LayerNorm form [37, 1, 48] " + dt, random(rnd, dt, 37, 1, 48), random(rnd, dt, 37, 1, 48),
                1, random(rnd, DType.F32, 48), random(rnd, DType.F32, 48), 1e-5f, false);
        normParity("LayerNorm form [5, 1, 768] gamma only " + dt, random(rnd, dt, 5, 1, 768), random(rnd, dt, 5, 1, 768),
                1, random(rnd, DType.F32, 768), null, 1e-5f, false);
    }

    private void normParity(String what, Tensor x, Tensor dy, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        try (Scope s = Scope.open()) {
            NormGrads want = cpu.groupNormBackward(x, dy, groups, gamma, beta, eps, silu);
            poison(cuda, DType.F32, x.shape());
            NormGrads got = cuda.groupNormBackward(cuda.copyFrom(x), cuda.copyFrom(dy), groups,
                    gamma == null ? null : cuda.copyFrom(gamma), beta == null ? null : cuda.copyFrom(beta), eps, silu);
            compare(what + " dx", CANCELLING_BOUND, want.dx(), got.dx());
            if (gamma == null) assertNull(got.dGamma(), what + ": no gamma, no dGamma");
            else compare(what + " dGamma", F32_BOUND, want.dGamma(), got.dGamma());
            if (beta == null) assertNull(got.dBeta(), what + ": no beta, no dBeta");
            else compare(what + " dBeta", F32_BOUND, want.dBeta(), got.dBeta());
        }
    }

    // ---------------------------------------------------------------- im2col / col2im

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void im2colAndCol2imMatchTheCpu(DType dt) {
        Object[][] cases = {
                {3, 3, Conv2dParams.of(1, 1)}, {3, 3, Conv2dParams.of(2, 1)}, {2, 2, Conv2dParams.of(2, 0)},
                {3, 3, new Conv2dParams(1, 2, 1, 0, 2, 1)}, {1, 1, Conv2dParams.of(2, 0)}, {3, 1, new Conv2dParams(2, 1, 0, 0, 1, 0)}};
        for (Object[] c : cases) {
            int kh = (int) c[0], kw = (int) c[1];
            Conv2dParams p = (Conv2dParams) c[2];
            String what = kh + "x" + kw + " " + p + " " + dt;
            // im2col copies values: exact
            parity("im2col " + what, 0.0, (b, x) -> b.im2col(x[0], kh, kw, p), random(rnd, dt, 2, 7, 9, 5));
            parity("im2col of a sliced view " + what, 0.0, (b, x) -> b.im2col(x[0].slice(3, 1, 6), kh, kw, p), random(rnd, dt, 1, 6, 5, 8));
            int ho = p.outH(7, kh), wo = p.outW(9, kw);
            int[] in = {2, 7, 9, 5};
            parity("col2im " + what, F32_BOUND, (b, x) -> b.col2im(x[0], in, kh, kw, p), random(rnd, dt, 2 * ho * wo, kh * kw * 5));
        }
    }

    // ---------------------------------------------------------------- embeddingBackward / selectsFirst

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void embeddingBackwardSumsRepeatedIds(DType dt) {
        int[] ids = new int[33];
        for (int i = 0; i < ids.length; i++) ids[i] = rnd.nextInt(20);
        ids[0] = ids[5] = ids[32] = 7;  // repeats
        Tensor idT = Tensor.ofInts(ids, 3, 11);
        parity("embeddingBackward host ids " + dt, F32_BOUND, (b, x) -> b.embeddingBackward(x[0], idT, 20), random(rnd, dt, 3, 11, 13));
        parity("embeddingBackward device ids " + dt, F32_BOUND, (b, x) -> b.embeddingBackward(x[0], x[1], 20),
                random(rnd, dt, 3, 11, 13), Tensor.ofLongs(java.util.Arrays.stream(ids).asLongStream().toArray(), 3, 11));
        parity("embeddingBackward wide rows " + dt, F32_BOUND, (b, x) -> b.embeddingBackward(x[0], idT, 25), random(rnd, dt, 3, 11, 768));
    }

    @Test
    void embeddingBackwardRejectsOutOfRangeIds() {
        try (Scope s = Scope.open()) {
            Tensor dy = cuda.copyFrom(random(rnd, DType.F32, 2, 4));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cuda.embeddingBackward(dy, Tensor.ofInts(new int[]{3, 10}, 2), 10));
            assertTrue(e.getMessage().contains("10"), e.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void selectsFirstWithBroadcastAndTies(DType dt) {
        for (BinaryOp op : new BinaryOp[]{BinaryOp.MAX, BinaryOp.MIN}) {
            // small integers: many ties, which go to a
            Tensor a = cpu.cast(cpu.unary(UnaryOp.SQUARE, random(rnd, DType.F32, -2f, 2f, 4, 1, 6)), dt);
            Tensor b = cpu.cast(cpu.unary(UnaryOp.SQUARE, random(rnd, DType.F32, -2f, 2f, 5, 1)), dt);
            try (Scope s = Scope.open()) {
                Tensor ai = roundToInts(a), bi = roundToInts(b);
                parity("selectsFirst " + op + " " + dt, 0.0, (be, x) -> be.selectsFirst(op, x[0], x[1]), ai, bi);
                parity("selectsFirst " + op + " transposed " + dt, 0.0, (be, x) -> be.selectsFirst(op, x[0].transpose(0, 2), x[1]),
                        ai, random(rnd, dt, 1, 4));
            }
        }
    }

    private Tensor roundToInts(Tensor t) {
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] = Math.round(v[i]);
        try (Tensor f = Tensor.of(v, t.shape())) { return cpu.cast(f, t.dtype()); }
    }
}
