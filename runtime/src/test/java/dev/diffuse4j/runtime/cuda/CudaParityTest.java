package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AdaInSpec;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionMode;
import dev.diffuse4j.runtime.ops.AttentionResult;
import dev.diffuse4j.runtime.ops.Backend;
import dev.diffuse4j.runtime.ops.Backends;
import dev.diffuse4j.runtime.ops.BinaryOp;
import dev.diffuse4j.runtime.ops.Conv2dParams;
import dev.diffuse4j.runtime.ops.KvSegment;
import dev.diffuse4j.runtime.ops.UnaryOp;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;

import static dev.diffuse4j.runtime.cuda.CudaTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Every CUDA op against the CPU reference backend (DESIGN §6): fresh random inputs each run (the
 * seed is printed on failure), odd sizes that leave partial tiles, outputs poisoned with NaN
 * before the GPU op, relative L2 bounds per dtype. Skipped, with the reason, where no GPU is.
 */
class CudaParityTest {
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);
    private CudaBackend cuda;
    private final Backend cpu = Backends.cpu();

    @BeforeEach
    void open() { cuda = backendOrSkip(); }

    /** Runs op on the CPU with the given inputs and on the GPU with uploaded copies; compares within the dtype's bound. */
    private void parity(String what, DType dt, BiFunction<Backend, Tensor[], Tensor> op, Tensor... in) {
        parity(what, dt, tolerance(dt), op, in);
    }

    private void parity(String what, DType dt, double tol, BiFunction<Backend, Tensor[], Tensor> op, Tensor... in) {
        try (Scope s = Scope.open()) {
            Tensor[] gin = new Tensor[in.length];
            for (int i = 0; i < in.length; i++) gin[i] = in[i] == null ? null : cuda.copyFrom(in[i]);
            Tensor ref = op.apply(cpu, in);
            poison(cuda, dt, ref.shape());
            Tensor got = op.apply(cuda, gin);
            assertEquals(cuda.device(), got.device(), what);
            assertArrayEquals(ref.shape(), got.shape(), what + ": shape");
            double err = relL2(ref.toFloatArray(), cuda.toCpu(got).toFloatArray());
            assertTrue(err <= tol, what + " " + dt + ": relative L2 error " + err + " exceeds " + tol + " (seed " + seed + ")");
        }
    }

    // ---------------------------------------------------------------- elementwise

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void unaryOps(DType dt) {
        for (UnaryOp op : UnaryOp.values()) {
            float lo = op == UnaryOp.SQRT ? 0f : -4f;
            parity("unary " + op, dt, (b, x) -> b.unary(op, x[0]), random(rnd, dt, lo, 4f, 3, 37, 11));
        }
        parity("unary of a transposed view", dt, (b, x) -> b.unary(UnaryOp.SILU, x[0].transpose(0, 1)), random(rnd, dt, 13, 7));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void binaryOpsWithBroadcasting(DType dt) {
        for (BinaryOp op : BinaryOp.values()) {
            float lo = op == BinaryOp.DIV ? 0.5f : -2f;
            parity(op + " same shape", dt, (b, x) -> b.binary(op, x[0], x[1]), random(rnd, dt, 5, 33), random(rnd, dt, lo, 2f, 5, 33));
            parity(op + " row broadcast", dt, (b, x) -> b.binary(op, x[0], x[1]), random(rnd, dt, 2, 9, 17), random(rnd, dt, lo, 2f, 17));
            parity(op + " general broadcast", dt, (b, x) -> b.binary(op, x[0], x[1]), random(rnd, dt, 3, 1, 5), random(rnd, dt, lo, 2f, 1, 4, 5));
            parity(op + " scalar first", dt, (b, x) -> b.binary(op, x[0], x[1]), random(rnd, dt, 1), random(rnd, dt, lo, 2f, 6, 7));
        }
        parity("add F32 + " + dt + " promotes", DType.F32, (b, x) -> b.binary(BinaryOp.ADD, x[0], x[1]),
                random(rnd, DType.F32, 4, 9), random(rnd, dt, 4, 9));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void affineAndGeglu(DType dt) {
        parity("affine", dt, (b, x) -> b.affine(x[0], 1.7f, -0.3f), random(rnd, dt, 7, 129));
        parity("geglu", dt, (b, x) -> b.geglu(x[0]), random(rnd, dt, -3f, 3f, 2, 5, 2 * 37));
    }

    /**
     * Contiguous views that start an odd number of elements into their storage: the vectorised
     * kernels must fall back to scalar loads there (a 16-byte load off 16 bytes faults on a GPU,
     * and under the emulator, which is built with alignment checks).
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void elementwiseOnViewsAtOddOffsets(DType dt) {
        int n = 8 * 37;
        parity("unary at offset 3", dt, (b, x) -> b.unary(UnaryOp.GELU_ERF, x[0].slice(0, 3, 3 + n)), random(rnd, dt, n + 5));
        parity("affine at offset 1", dt, (b, x) -> b.affine(x[0].slice(0, 1, 1 + n), 0.5f, 2f), random(rnd, dt, n + 1));
        parity("add, one operand at offset 5", dt, (b, x) -> b.binary(BinaryOp.ADD, x[0].slice(0, 0, n), x[1].slice(0, 5, 5 + n)),
                random(rnd, dt, n), random(rnd, dt, n + 7));
        parity("cast at offset 7", DType.F32, 0.0, (b, x) -> b.cast(x[0].slice(0, 7, 7 + n), DType.F32), random(rnd, dt, n + 9));
        parity("geglu of rows at offset 1", dt, (b, x) -> b.geglu(x[0].slice(0, 1, 4)), random(rnd, dt, 4, 2 * 40));
    }

    // ---------------------------------------------------------------- copies

    @Test
    void castsRoundExactlyLikeTheCpu() {
        DType[] fl = {DType.F32, DType.F16, DType.BF16};
        for (DType from : fl)
            for (DType to : fl) {
                Tensor x = random(rnd, from, -70000f, 70000f, 5, 31);  // F16 overflow to inf included
                parity("cast " + from + "->" + to, to, 0.0, (b, t) -> b.cast(t[0], to), x);
            }
        parity("cast I64->I32", DType.I32, 0.0, (b, t) -> b.cast(t[0], DType.I32), Tensor.ofLongs(new long[]{-5, 0, 7, 1 << 20}, 4));
        parity("cast I32->F32", DType.F32, 0.0, (b, t) -> b.cast(t[0], DType.F32), Tensor.ofInts(new int[]{-5, 0, 7, 1 << 20}, 4));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void layoutOps(DType dt) {
        parity("contiguous of a permute", dt, (b, x) -> b.contiguous(x[0].permute(2, 0, 1)), random(rnd, dt, 3, 5, 7));
        parity("contiguous of a slice", dt, (b, x) -> b.contiguous(x[0].slice(1, 2, 9)), random(rnd, dt, 4, 11, 6));
        for (int dim : new int[]{0, 1, -1})
            parity("concat dim " + dim, dt, (b, x) -> b.concat(List.of(x[0], x[1], x[2]), dim),
                    random(rnd, dt, 2, 3, 5), random(rnd, dt, 2, 3, 5), random(rnd, dt, 2, 3, 5));
        parity("concat uneven channels", dt, (b, x) -> b.concat(List.of(x[0], x[1]), 3), random(rnd, dt, 1, 3, 4, 5), random(rnd, dt, 1, 3, 4, 11));
        parity("upsample C=3", dt, (b, x) -> b.upsampleNearest2x(x[0]), random(rnd, dt, 2, 3, 5, 3));
        parity("upsample C=64", dt, (b, x) -> b.upsampleNearest2x(x[0]), random(rnd, dt, 1, 4, 3, 64));
        parity("full", dt, (b, x) -> b.full(dt, -2.75f, 3, 19), random(rnd, dt, 1));
        parity("embedding", dt, (b, x) -> b.embedding(x[0], x[1]), random(rnd, dt, 50, 24),
                Tensor.ofLongs(new long[]{0, 49, 7, 7, 13, 2}, 2, 3));
        parity("embedding odd D", dt, (b, x) -> b.embedding(x[0], x[1]), random(rnd, dt, 9, 5), Tensor.ofInts(new int[]{8, 0, 3}, 3));
    }

    @Test
    void embeddingRejectsOutOfRangeIds() {
        try (Scope s = Scope.open()) {
            Tensor table = cuda.copyFrom(random(rnd, DType.F16, 10, 8));
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                    () -> cuda.embedding(table, Tensor.ofInts(new int[]{3, 10}, 2)));
            assertTrue(e.getMessage().contains("10"), e.getMessage());
        }
    }

    @Test
    void timestepEmbedding() {
        Tensor t = Tensor.of(new float[]{0f, 1f, 261f, 999f}, 4);
        for (boolean flip : new boolean[]{false, true})
            parity("timestep embedding flip=" + flip, DType.F32, 1e-5,
                    (b, x) -> b.timestepEmbedding(x[0], 320, flip, flip ? 0f : 1f, 10000f), t);
        parity("timestep embedding odd dim", DType.F32, (b, x) -> b.timestepEmbedding(x[0], 33, true, 0f, 10000f), t);
    }

    @Test
    void hostRoundTripIsBitExact() {
        for (DType dt : new DType[]{DType.F32, DType.F16, DType.BF16, DType.I32, DType.I64, DType.U8}) {
            try (Scope s = Scope.open()) {
                Tensor x = dt.isFloating() ? random(rnd, dt, 3, 17) : cpu.cast(random(rnd, DType.F32, 0f, 100f, 3, 17), dt);
                Tensor back = cuda.toCpu(cuda.copyFrom(x.transpose(0, 1)));
                Tensor ref = cpu.contiguous(x.transpose(0, 1));
                assertEquals(ref.cpuSegment().asSlice(0, ref.byteSize()).mismatch(back.cpuSegment().asSlice(0, back.byteSize())), -1L, dt + " round trip");
            }
        }
    }

    // ---------------------------------------------------------------- norms

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void norms(DType dt) {
        parity("softmax", dt, (b, x) -> b.softmax(x[0]), random(rnd, dt, -8f, 8f, 3, 7, 77));
        parity("softmax long rows", dt, (b, x) -> b.softmax(x[0]), random(rnd, dt, -8f, 8f, 5, 4099));
        parity("layerNorm affine", dt, (b, x) -> b.layerNorm(x[0], x[1], x[2], 1e-5f),
                random(rnd, dt, 2f, 4f, 9, 321), random(rnd, DType.F32, 321), random(rnd, dt, 321));
        parity("layerNorm plain", dt, (b, x) -> b.layerNorm(x[0], null, null, 1e-5f), random(rnd, dt, 4, 768));
        for (boolean silu : new boolean[]{false, true}) {
            parity("groupNorm C=6 G=3 silu=" + silu, dt, (b, x) -> b.groupNorm(x[0], 3, x[1], x[2], 1e-5f, silu),
                    random(rnd, dt, 2, 5, 7, 6), random(rnd, DType.F32, 6), random(rnd, DType.F32, 6));
            parity("groupNorm C=64 G=32 silu=" + silu, dt, (b, x) -> b.groupNorm(x[0], 32, x[1], x[2], 1e-6f, silu),
                    random(rnd, dt, 5f, 7f, 2, 17, 9, 64), random(rnd, dt, 64), random(rnd, dt, 64));
            parity("groupNorm large groups silu=" + silu, dt, (b, x) -> b.groupNorm(x[0], 4, null, null, 1e-5f, silu),
                    random(rnd, dt, 1, 96, 96, 40));
        }
    }

    // ---------------------------------------------------------------- linear algebra

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void matmulLayoutsAndBroadcasts(DType dt) {
        int[][] sizes = {{37, 24, 19}, {64, 32, 64}, {5, 13, 7}, {130, 40, 72}};
        for (int[] s : sizes) {
            int M = s[0], K = s[1], N = s[2];
            for (boolean ta : new boolean[]{false, true})
                for (boolean tb : new boolean[]{false, true}) {
                    Tensor a = random(rnd, dt, ta ? new int[]{2, K, M} : new int[]{2, M, K});
                    Tensor b = random(rnd, dt, tb ? new int[]{2, N, K} : new int[]{2, K, N});
                    parity("matmul " + M + "x" + K + "x" + N + " tA=" + ta + " tB=" + tb, dt, (be, x) -> be.matmul(x[0], x[1], ta, tb), a, b);
                }
        }
        parity("matmul broadcast batch", dt, (be, x) -> be.matmul(x[0], x[1], false, false), random(rnd, dt, 3, 1, 17, 16), random(rnd, dt, 1, 2, 16, 24));
        parity("matmul big tiles", dt, (be, x) -> be.matmul(x[0], x[1], false, true), random(rnd, dt, 2048, 96), random(rnd, dt, 1160, 96));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void linear(DType dt) {
        parity("linear", dt, (b, x) -> b.linear(x[0], x[1], x[2]), random(rnd, dt, 2, 77, 320), random(rnd, dt, 200, 320), random(rnd, DType.F32, 200));
        parity("linear odd in", dt, (b, x) -> b.linear(x[0], x[1], x[2]), random(rnd, dt, 9, 13), random(rnd, dt, 11, 13), random(rnd, dt, 11));
        parity("linear no bias", dt, (b, x) -> b.linear(x[0], x[1], null), random(rnd, dt, 33, 64), random(rnd, dt, 17, 64));
    }

    /**
     * The FF1 projection fused with GEGLU (values and gates interleaved in groups of 8 columns of the
     * tile) against the CPU's linear then geglu; both tiles, a ragged M, and shapes that fall back
     * (inner % 8 != 0, F32) to the two ops.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void linearGegluMatchesLinearThenGeglu(DType dt) {
        parity("linear+geglu 150x64 -> 2x48", dt, (b, x) -> b.linearGeglu(x[0], x[1], x[2]),
                random(rnd, dt, 3, 50, 64), random(rnd, dt, 96, 64), random(rnd, DType.F32, 96));
        parity("linear+geglu big tiles 520x64 -> 2x160", dt, (b, x) -> b.linearGeglu(x[0], x[1], x[2]),
                random(rnd, dt, 520, 64), random(rnd, dt, 320, 64), random(rnd, dt, 320));
        parity("linear+geglu no bias", dt, (b, x) -> b.linearGeglu(x[0], x[1], null), random(rnd, dt, 37, 32), random(rnd, dt, 64, 32));
        parity("linear+geglu fallback, inner 13", dt, (b, x) -> b.linearGeglu(x[0], x[1], x[2]),
                random(rnd, dt, 9, 16), random(rnd, dt, 26, 16), random(rnd, DType.F32, 26));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void conv2d(DType dt) {
        Conv2dParams same = Conv2dParams.of(1, 1), down = Conv2dParams.of(2, 1), vaeDown = new Conv2dParams(2, 2, 0, 0, 1, 1);
        parity("conv 3x3 Cin=16", dt, (b, x) -> b.conv2d(x[0], x[1], x[2], same, null),
                random(rnd, dt, 2, 9, 11, 16), random(rnd, dt, 24, 3, 3, 16), random(rnd, DType.F32, 24));
        parity("conv 3x3 stem Cin=4", dt, (b, x) -> b.conv2d(x[0], x[1], x[2], same, null),
                random(rnd, dt, 1, 8, 8, 4), random(rnd, dt, 32, 3, 3, 4), random(rnd, dt, 32));
        parity("conv 3x3 stride 2", dt, (b, x) -> b.conv2d(x[0], x[1], x[2], down, null),
                random(rnd, dt, 2, 13, 10, 32), random(rnd, dt, 40, 3, 3, 32), random(rnd, DType.F32, 40));
        parity("conv 3x3 stride 2 asymmetric pad", dt, (b, x) -> b.conv2d(x[0], x[1], null, vaeDown, null),
                random(rnd, dt, 1, 8, 8, 8), random(rnd, dt, 8, 3, 3, 8));
        parity("conv 1x1 + residual", dt, (b, x) -> b.conv2d(x[0], x[1], x[2], Conv2dParams.of(1, 0), x[3]),
                random(rnd, dt, 2, 7, 5, 48), random(rnd, dt, 24, 1, 1, 48), random(rnd, DType.F32, 24), random(rnd, dt, 2, 7, 5, 24));
        parity("conv 3x3 big", dt, (b, x) -> b.conv2d(x[0], x[1], x[2], same, x[3]),
                random(rnd, dt, 2, 32, 32, 64), random(rnd, dt, 128, 3, 3, 64), random(rnd, DType.F32, 128), random(rnd, dt, 2, 32, 32, 128));
    }

    /**
     * Products whose 64x64 tiles leave SMs idle split K (F32 partials, then an in-order reduce with
     * the epilogue). Every shape here splits on any device with at least 4 SMs (the emulated one
     * has 4), with a shorter last split, odd N (scalar partial stores) and batches.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void splitKProductsMatchTheCpu(DType dt) {
        int sms = cuda.ctx.smCount;
        assertTrue(sms >= 4, "the shapes below split with 4 SMs or more");
        assertEquals(4, CudaLinalg.splitK(40, 11520, 132), "SD1.5's 8x8-level conv at batch 2 on an H100");
        assertEquals(1, CudaLinalg.splitK(200, 11520, 132), "enough tiles: no split");
        assertEquals(1, CudaLinalg.splitK(2, 480, 132), "K too short to split");

        assertTrue(CudaLinalg.splitK(2, 1032, sms) > 1);
        parity("split-K matmul nt 50x1032x72", dt, (b, x) -> b.matmul(x[0], x[1], false, true), random(rnd, dt, 50, 1032), random(rnd, dt, 72, 1032));
        assertTrue(CudaLinalg.splitK(2, 520, sms) > 1);
        parity("split-K matmul nn batch 2, 40x520x24", dt, (b, x) -> b.matmul(x[0], x[1], false, false), random(rnd, dt, 2, 40, 520), random(rnd, dt, 2, 520, 24));
        assertTrue(CudaLinalg.splitK(1, 1024, sms) > 1);
        parity("split-K linear 63x1024x56 + bias", dt, (b, x) -> b.linear(x[0], x[1], x[2]),
                random(rnd, dt, 3, 21, 1024), random(rnd, dt, 56, 1024), random(rnd, DType.F32, 56));
        assertTrue(CudaLinalg.splitK(1, 9 * 128, sms) > 1);
        parity("split-K conv 3x3 128->40 + bias + residual", dt, (b, x) -> b.conv2d(x[0], x[1], x[2], Conv2dParams.of(1, 1), x[3]),
                random(rnd, dt, 2, 4, 4, 128), random(rnd, dt, 40, 3, 3, 128), random(rnd, dt, 40), random(rnd, dt, 2, 4, 4, 40));
        assertTrue(CudaLinalg.splitK(1, 9 * 64, sms) > 1);
        parity("split-K conv 3x3 stride 2, 64->13", dt, (b, x) -> b.conv2d(x[0], x[1], x[2], Conv2dParams.of(2, 1), null),
                random(rnd, dt, 1, 9, 5, 64), random(rnd, dt, 13, 3, 3, 64), random(rnd, DType.F32, 13));
    }

    /** Past 65535 row tiles (e.g. an F32 SDXL VAE decode at 1024 px, batch 4) each image gets its own grid z slice. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16"})
    void conv2dSplitsImagesOverGridZPastTheGridYLimit(DType dt) {
        int saved = CudaLinalg.gridYLimit;
        CudaLinalg.gridYLimit = 3;  // 3 images of 9x11 pixels need 5 row tiles of 64 together, 2 each alone
        try {
            parity("conv 3x3 one image per slice", dt, (b, x) -> b.conv2d(x[0], x[1], x[2], Conv2dParams.of(1, 1), x[3]),
                    random(rnd, dt, 3, 9, 11, 16), random(rnd, dt, 24, 3, 3, 16), random(rnd, DType.F32, 24), random(rnd, dt, 3, 9, 11, 24));
            CudaLinalg.gridYLimit = 1;
            try (Tensor x = cuda.copyFrom(random(rnd, dt, 3, 9, 11, 16)); Tensor w = cuda.copyFrom(random(rnd, dt, 24, 3, 3, 16))) {
                assertThrows(IllegalArgumentException.class, () -> cuda.conv2d(x, w, null, Conv2dParams.of(1, 1), null), "one image needs 2 tiles");
            }
        } finally {
            CudaLinalg.gridYLimit = saved;
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void cublasGemmPath(DType dt) {
        try {
            cuda.gemmImplementation(CudaBackend.GemmImplementation.CUBLAS);
        } catch (CudaUnavailableException e) {
            org.junit.jupiter.api.Assumptions.abort("skipped: " + e.getMessage());
        }
        try {
            parity("cublas linear", dt, (b, x) -> b.linear(x[0], x[1], x[2]), random(rnd, dt, 2, 77, 320), random(rnd, dt, 200, 320), random(rnd, DType.F32, 200));
            parity("cublas linear odd", dt, (b, x) -> b.linear(x[0], x[1], x[2]), random(rnd, dt, 9, 13), random(rnd, dt, 11, 13), random(rnd, dt, 11));
            for (boolean ta : new boolean[]{false, true})
                for (boolean tb : new boolean[]{false, true})
                    parity("cublas matmul tA=" + ta + " tB=" + tb, dt, (be, x) -> be.matmul(x[0], x[1], ta, tb),
                            random(rnd, dt, ta ? new int[]{3, 21, 37} : new int[]{3, 37, 21}), random(rnd, dt, tb ? new int[]{3, 19, 21} : new int[]{3, 21, 19}));
            parity("cublas matmul broadcast", dt, (be, x) -> be.matmul(x[0], x[1], false, false), random(rnd, dt, 3, 1, 17, 16), random(rnd, dt, 1, 2, 16, 24));
        } finally {
            cuda.gemmImplementation(CudaBackend.GemmImplementation.KERNELS);
        }
    }

    // ---------------------------------------------------------------- attention

    private Tensor[] qkv(DType dt, int B, int nq, int nk, int hd) {
        return new Tensor[]{random(rnd, dt, B, nq, hd), random(rnd, dt, B, nk, hd), random(rnd, dt, B, nk, hd)};
    }

    private static BiFunction<Backend, Tensor[], Tensor> attn(java.util.function.Function<Tensor[], AttentionCall> call) {
        return (b, x) -> b.attention(call.apply(x)).out();
    }

    private static BiFunction<Backend, Tensor[], Tensor> maps(java.util.function.Function<Tensor[], AttentionCall> call) {
        return (b, x) -> b.attention(call.apply(x)).maps();
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void plainAttentionHeadDims(DType dt) {
        for (int[] c : new int[][]{{40, 8}, {64, 2}, {80, 2}, {160, 1}, {20, 3}, {24, 2}}) {
            int d = c[0], h = c[1];
            parity("attention D=" + d + " H=" + h, dt, attn(x -> AttentionCall.plain(x[0], x[1], x[2], h)), qkv(dt, 2, 100, 77, d * h));
        }
        parity("self attention 1 item long", dt, attn(x -> AttentionCall.plain(x[0], x[1], x[2], 2)), qkv(dt, 1, 333, 333, 128));
        parity("causal", dt, attn(x -> AttentionCall.plain(x[0], x[1], x[2], 4).withCausal(true)), qkv(dt, 2, 77, 77, 256));
        parity("scale", dt, attn(x -> AttentionCall.plain(x[0], x[1], x[2], 2).withScale(0.3f)), qkv(dt, 2, 33, 20, 96));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void jointSegmentsMapsAndBias(DType dt) {
        int B = 4, nq = 70, HD = 128, H = 2;
        Tensor q = random(rnd, dt, B, nq, HD), k = random(rnd, dt, B, nq, HD), v = random(rnd, dt, B, nq, HD);
        Tensor kr = random(rnd, dt, 1, 45, HD), vr = random(rnd, dt, 1, 45, HD);
        Tensor kp = random(rnd, dt, 2, 9, HD), vp = random(rnd, dt, 2, 9, HD);
        java.util.function.Function<Tensor[], AttentionCall> call = x -> new AttentionCall(x[0], H, List.of(
                KvSegment.of(x[1], x[2]),
                KvSegment.of(x[3], x[4]).withLogitScale(1.3f).withLogitBias(-0.5f),
                KvSegment.of(x[5], x[6]).withItemMap(new int[]{-1, 1, -1, 0})),
                AttentionMode.JOINT, Float.NaN, false, null, -1);
        Tensor[] in = {q, k, v, kr, vr, kp, vp};
        parity("joint 3 segments", dt, attn(call), in);
        for (int cap = 0; cap < 3; cap++) {
            int c = cap;
            parity("joint maps of segment " + c, DType.F32, tolerance(dt), maps(x -> call.apply(x).withCapture(c)), in);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void stratifiedAndAdaIn(DType dt) {
        int B = 4, nq = 64, HD = 80, H = 1;
        Tensor q = random(rnd, dt, B, nq, HD), k = random(rnd, dt, B, nq, HD), v = random(rnd, dt, B, nq, HD);
        Tensor kr = random(rnd, dt, 2, 30, HD), vr = random(rnd, dt, 2, 30, HD);
        java.util.function.Function<Tensor[], AttentionCall> strat = x -> new AttentionCall(x[0], H, List.of(
                KvSegment.of(x[1], x[2]).withWeight(0.7f),
                KvSegment.of(x[3], x[4]).withItemMap(new int[]{0, -1, 1, 1}).withWeight(0.3f)),
                AttentionMode.STRATIFIED, Float.NaN, false, null, -1);
        Tensor[] in = {q, k, v, kr, vr};
        parity("stratified", dt, attn(strat), in);
        parity("stratified maps", DType.F32, tolerance(dt), maps(x -> strat.apply(x).withCapture(1)), in);
        AdaInSpec adain = new AdaInSpec(new int[]{-1, 0, 0, 2}, true, true, true, 1e-5f);
        parity("adain joint", dt, attn(x -> AttentionCall.plain(x[0], x[1], x[2], 2).withAdaIn(adain)), random(rnd, dt, 2f, 3f, B, 40, 64),
                random(rnd, dt, -1f, 2f, B, 40, 64), random(rnd, dt, B, 40, 64));
        parity("adain stratified", dt, attn(x -> strat.apply(x).withAdaIn(AdaInSpec.queriesAndKeys(new int[]{-1, 0, 0, 1}))), in);
    }

    // ---------------------------------------------------------------- memory, errors, graphs

    @Test
    void outOfMemoryIsAnExceptionNamingTheSize() {
        long before = cuda.memoryStats().inUseBytes();
        int mib = (int) (cuda.ctx.totalMemory >> 20) + 1024;  // 1 GiB more than the device has
        long asked = (long) mib << 20;
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class, () -> cuda.empty(DType.U8, mib, 1 << 20));
        assertTrue(e.getMessage().contains("allocating") && e.getMessage().contains(String.valueOf(asked)), e.getMessage());
        assertEquals(asked, e.requestedBytes());
        assertEquals(before, cuda.memoryStats().inUseBytes(), "a failed allocation holds nothing");
        try (Tensor x = cuda.full(DType.F16, 1f, 1000)) {
            assertEquals(1f, cuda.toCpu(x).getFloat(999), "the backend works after running out of memory");
        }
    }

    @Test
    void memoryStatsTrackPeakAndReuse() {
        cuda.resetPeakMemory();
        long base = cuda.memoryStats().inUseBytes();
        try (Tensor a = cuda.empty(DType.F32, 1 << 20)) {
            assertTrue(cuda.memoryStats().inUseBytes() >= base + (4 << 20));
        }
        long hits = cuda.memoryStats().cacheHits();
        try (Tensor b = cuda.empty(DType.F32, 1 << 20)) {
            assertEquals(hits + 1, cuda.memoryStats().cacheHits(), "a freed block of the same size is reused");
        }
        assertTrue(cuda.memoryStats().peakBytes() >= base + (4 << 20));
        assertEquals(base, cuda.memoryStats().inUseBytes());
    }

    @Test
    void badShapesNameTheOp() {
        try (Scope s = Scope.open()) {
            Tensor a = cuda.empty(DType.F16, 3, 4), b = cuda.empty(DType.F16, 5, 6);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cuda.matmul(a, b, false, false));
            assertTrue(e.getMessage().startsWith("matmul"), e.getMessage());
        }
    }

    @Test
    void graphKeepsAnInputTheStepFreedAwayFromLaterWork() {
        boolean sync = cuda.ctx.syncEachLaunch;
        cuda.ctx.syncEachLaunch = false;
        try (Scope s = Scope.open()) {
            Tensor x = Scope.detach(cuda.copyFrom(Tensor.of(new float[]{1, 2, 3, 4}, 4)));
            Tensor[] out = new Tensor[1];
            try (CudaGraph g = cuda.capture(() -> {
                out[0] = Scope.detach(cuda.affine(x, 2f, 1f));
                x.close();  // the step consumes its input: replays still read x's block
            })) {
                Tensor other = cuda.full(DType.F32, 99f, 4);  // same size: the block x had, were it free
                g.replay();
                cuda.synchronize();
                assertArrayEquals(new float[]{3, 5, 7, 9}, cuda.toCpu(out[0]).toFloatArray(), "replay read x, not " + other);
            }
            out[0].close();
        } finally {
            cuda.ctx.syncEachLaunch = sync;
        }
    }

    @Test
    void graphReplayMatchesEagerExecution() {
        boolean sync = cuda.ctx.syncEachLaunch;
        cuda.ctx.syncEachLaunch = false;
        try (Scope s = Scope.open()) {
            Tensor w = cuda.copyFrom(random(rnd, DType.F16, 64, 64));
            Tensor in = cuda.copyFrom(random(rnd, DType.F16, 32, 64));
            Tensor[] out = new Tensor[1];
            Runnable step = () -> {
                if (out[0] != null) out[0].close();
                out[0] = Scope.detach(cuda.unary(UnaryOp.SILU, cuda.linear(in, w, null)));
            };
            step.run();  // warm-up
            try (CudaGraph g = cuda.capture(step)) {
                for (int i = 0; i < 3; i++) {
                    Tensor fresh = random(rnd, DType.F16, 32, 64);
                    cuda.copyInto(fresh, in);
                    g.replay();
                    cuda.synchronize();
                    float[] got = cuda.toCpu(out[0]).toFloatArray();
                    float[] ref;
                    try (Tensor eager = cuda.unary(UnaryOp.SILU, cuda.linear(in, w, null))) { ref = cuda.toCpu(eager).toFloatArray(); }
                    assertEquals(0.0, relL2(ref, got), 0.0, "replay " + i + " equals eager execution bit for bit");
                }
            }
            out[0].close();
        } finally {
            cuda.ctx.syncEachLaunch = sync;
        }
    }

}
