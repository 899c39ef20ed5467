package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Backend;
import dev.diffuse4j.runtime.ops.Backends;
import dev.diffuse4j.runtime.ops.Conv2dParams;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;
import java.util.function.BiFunction;

import static dev.diffuse4j.runtime.cuda.CudaTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The Hopper GEMM (gemm_sm90.cu, TMA + wgmma) and conv (conv_sm90.cu, the same block with a
 * cp.async gather) against float64 references and against the CPU backend through the opt-in
 * dispatch: sizes that leave partial tiles in M, N and K (K a multiple of 8 but not of 64),
 * batches, a broadcast operand, a padded row stride, bias of another dtype, the beta * R residual,
 * convs with padding, stride 2 and one-sided padding, 1x1, a fused residual, linear + GEGLU, split-K
 * on and off, outputs poisoned with NaN. Runs on {@link HopperTestSupport#backendOrSkip()}: an
 * sm_90 GPU, or the host emulator opened as sm_90 in the cuda-emulated execution (the kernel, its
 * tensor maps and the Java side of the launch are all checked there); skipped with the reason elsewhere.
 */
class CudaWgmmaGemmTest {
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);
    private CudaBackend cuda;
    private CudaWgmmaGemm wgmma;

    @BeforeEach
    void open() {
        cuda = HopperTestSupport.backendOrSkip();
        wgmma = new CudaWgmmaGemm(cuda);
    }

    /** Row-major [rows, ld] values (rounded to t), of which the first k columns are the matrix. */
    private float[] values(DType t, int n) {
        try (Tensor x = random(rnd, t, n)) { return x.toFloatArray(); }
    }

    private static Tensor upload(CudaBackend cuda, DType t, float[] v, int... shape) {
        try (Tensor f = Tensor.of(v, shape)) {
            if (t == DType.F32) return cuda.copyFrom(f);
            try (Tensor c = Backends.cpu().cast(f, t)) { return cuda.copyFrom(c); }
        }
    }

    /**
     * Runs the kernel directly: A [nbA][M][lda] (first K columns), B [nbB][N][ldb], nbA/nbB = 1
     * broadcasts; optional bias (dtype biasType) and residual; checks every element against float64.
     */
    private void direct(String what, DType t, int nb, int M, int N, int K, int lda, int ldb, boolean broadcastA, boolean broadcastB,
                        DType biasType, float beta) {
        int nbA = broadcastA ? 1 : nb, nbB = broadcastB ? 1 : nb;
        float[] a = values(t, nbA * M * lda), b = values(t, nbB * N * ldb);
        float[] bias = biasType == null ? null : values(biasType, N);
        float[] r = beta != 0 ? values(t, nb * M * N) : null;
        double[] ref = new double[nb * M * N];
        for (int z = 0; z < nb; z++)
            for (int m = 0; m < M; m++)
                for (int n = 0; n < N; n++) {
                    double s = 0;
                    int ao = ((broadcastA ? 0 : z) * M + m) * lda, bo = ((broadcastB ? 0 : z) * N + n) * ldb;
                    for (int k = 0; k < K; k++) s += (double) a[ao + k] * b[bo + k];
                    int o = (z * M + m) * N + n;
                    if (bias != null) s += bias[n];
                    if (r != null) s += beta * (double) r[o];
                    ref[o] = s;
                }
        try (Scope s = Scope.open()) {
            Tensor ga = upload(cuda, t, a, nbA, M, lda), gb = upload(cuda, t, b, nbB, N, ldb);
            Tensor gbias = bias == null ? null : upload(cuda, biasType, bias, N);
            Tensor gr = r == null ? null : upload(cuda, t, r, nb, M, N);
            poison(cuda, t, nb, M, N);
            Tensor out = cuda.alloc("wgmma test", t, nb, M, N);
            String why = wgmma.refusal(t, CudaTypes.address(ga), lda, broadcastA ? 0 : (long) M * lda, CudaTypes.address(gb), ldb,
                    broadcastB ? 0 : (long) N * ldb, M, N, K, nb);
            assertNull(why, what);
            wgmma.gemm("wgmma " + what, t, CudaTypes.address(ga), lda, broadcastA ? 0 : (long) M * lda, CudaTypes.address(gb), ldb,
                    broadcastB ? 0 : (long) N * ldb, out, M, N, K, nb, gbias, gr, beta);
            float[] got = cuda.toCpu(out).toFloatArray();
            float[] want = new float[ref.length];
            for (int i = 0; i < ref.length; i++) want[i] = (float) ref[i];
            double err = relL2(want, got);
            assertTrue(err <= tolerance(t), what + " " + t + ": relative L2 error " + err + " exceeds " + tolerance(t) + " (seed " + seed + ")");
        }
    }

    /** Runs {@code cases} with split-K allowed (small grids split on the emulator's 4 SMs), then with it off. */
    private static void withAndWithoutSplitK(Runnable cases) {
        boolean was = CudaLinalg.splitKEnabled;
        try {
            CudaLinalg.splitKEnabled = true;
            cases.run();
            CudaLinalg.splitKEnabled = false;
            cases.run();
        } finally {
            CudaLinalg.splitKEnabled = was;
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void partialTilesBatchesBiasAndResidual(DType t) {
        withAndWithoutSplitK(() -> partialTileCases(t));
    }

    private void partialTileCases(DType t) {
        direct("batched 300x200x136 + f32 bias + 0.5 R", t, 3, 300, 200, 136, 136, 136, false, false, DType.F32, 0.5f);
        direct("one tile exactly 128x128x64", t, 1, 128, 128, 64, 64, 64, false, false, null, 0f);
        direct("tiny 1x8x8", t, 1, 1, 8, 8, 8, 8, false, false, t, 0f);
        direct("odd N 129x257x72, B broadcast", t, 2, 129, 257, 72, 72, 72, false, true, t, 0f);
        direct("A broadcast, residual only", t, 2, 70, 96, 200, 200, 200, true, false, null, -1f);
        direct("padded rows: K 40 in rows of 48", t, 1, 77, 50, 40, 48, 56, false, false, DType.F32, 0f);
        direct("long K 1288", t, 1, 130, 136, 1288, 1288, 1288, false, false, null, 0f);
        // One tile, 16 K tiles: 4 splits on the emulator's 4 SMs (2 for the batched one) when split-K is on.
        direct("split-K 100x120x1024 + bias + R", t, 1, 100, 120, 1024, 1024, 1024, false, false, DType.F32, 1f);
        direct("split-K batched 64x64x640, B broadcast", t, 2, 64, 64, 640, 640, 640, false, true, t, 0.5f);
    }

    /**
     * Runs the conv kernel directly on x [Bn, H, W, Cin] and w [Cout, k, k, Cin] with stride s and
     * padding (pt, pl) (bottom/right implied by Ho, Wo), checking every element against float64.
     */
    private void directConv(String what, DType t, int Bn, int H, int W, int Cin, int Cout, int k, int s, int pt, int pl, int Ho, int Wo,
                            boolean withBias, boolean withResidual) {
        int K = k * k * Cin, M = Bn * Ho * Wo;
        float[] x = values(t, Bn * H * W * Cin), w = values(t, Cout * K);
        float[] bias = withBias ? values(DType.F32, Cout) : null, r = withResidual ? values(t, M * Cout) : null;
        float[] want = new float[M * Cout];
        for (int b = 0; b < Bn; b++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++)
                    for (int n = 0; n < Cout; n++) {
                        double sum = 0;
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * s - pt + ky, ix = ox * s - pl + kx;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                for (int c = 0; c < Cin; c++)
                                    sum += (double) x[((b * H + iy) * W + ix) * Cin + c] * w[n * K + (ky * k + kx) * Cin + c];
                            }
                        int o = ((b * Ho + oy) * Wo + ox) * Cout + n;
                        want[o] = (float) (sum + (bias == null ? 0 : bias[n]) + (r == null ? 0 : r[o]));
                    }
        try (Scope sc = Scope.open()) {
            Tensor gx = upload(cuda, t, x, Bn, H, W, Cin), gw = upload(cuda, t, w, Cout, K);
            Tensor gb = bias == null ? null : upload(cuda, DType.F32, bias, Cout), gr = r == null ? null : upload(cuda, t, r, M, Cout);
            poison(cuda, t, M, Cout);
            Tensor out = cuda.alloc("wgmma conv test", t, M, Cout);
            assertNull(wgmma.convRefusal(t, CudaTypes.address(gx), CudaTypes.address(gw), Bn, H, W, Cin, Cout, K, M), what);
            byte[] args = new CStruct(48).i32(Bn).i32(H).i32(W).i32(Cin).i32(Ho).i32(Wo).i32(k).i32(k).i32(s).i32(s).i32(pt).i32(pl).bytes();
            wgmma.conv("wgmma conv " + what, t, CudaTypes.address(gx), CudaTypes.address(gw), out, args, Bn, H, W, Cin, Cout, K, M, gb, gr);
            double err = relL2(want, cuda.toCpu(out).toFloatArray());
            assertTrue(err <= tolerance(t), what + " " + t + ": relative L2 error " + err + " exceeds " + tolerance(t) + " (seed " + seed + ")");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void convAgainstFloat64(DType t) {
        withAndWithoutSplitK(() -> convCases(t));
    }

    private void convCases(DType t) {
        directConv("3x3 pad 1, partial tiles, bias + residual", t, 2, 7, 9, 64, 136, 3, 1, 1, 1, 7, 9, true, true);
        directConv("3x3 stride 2, bottom/right padding, two channel blocks", t, 1, 9, 8, 128, 72, 3, 2, 0, 0, 4, 4, true, false);
        directConv("1x1, three channel blocks, no bias", t, 1, 6, 5, 192, 40, 1, 1, 0, 0, 6, 5, false, true);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void linearGegluDispatchesWhenOptedIn(DType dt) {
        cuda.useWgmmaGemm(true);
        try {
            parity("linear + geglu, 3 feature tiles", dt, true, (b, x) -> b.linearGeglu(x[0], x[1], x[2]),
                    random(rnd, dt, 2, 75, 200), random(rnd, dt, 384, 200), random(rnd, DType.F32, 384));
            parity("linear + geglu, no bias", dt, true, (b, x) -> b.linearGeglu(x[0], x[1], null),
                    random(rnd, dt, 130, 64), random(rnd, dt, 256, 64));
            parity("linear + geglu, inner 40 (mma.sync)", dt, false, (b, x) -> b.linearGeglu(x[0], x[1], x[2]),
                    random(rnd, dt, 33, 64), random(rnd, dt, 80, 64), random(rnd, DType.F32, 80));
        } finally {
            cuda.useWgmmaGemm(false);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void conv2dDispatchesWhenOptedIn(DType dt) {
        cuda.useWgmmaGemm(true);
        try {
            parity("conv 3x3 + bias + residual", dt, true, (b, x) -> b.conv2d(x[0], x[1], x[2], Conv2dParams.of(1, 1), x[3]),
                    random(rnd, dt, 2, 6, 5, 64), random(rnd, dt, 96, 3, 3, 64), random(rnd, DType.F32, 96), random(rnd, dt, 2, 6, 5, 96));
            parity("conv 3x3 stride 2 (the VAE's padding)", dt, true, (b, x) -> b.conv2d(x[0], x[1], x[2], new Conv2dParams(2, 2, 0, 0, 1, 1), null),
                    random(rnd, dt, 1, 8, 8, 128), random(rnd, dt, 64, 3, 3, 128), random(rnd, dt, 64));
            parity("conv 1x1 shortcut", dt, true, (b, x) -> b.conv2d(x[0], x[1], x[2], Conv2dParams.of(1, 0), null),
                    random(rnd, dt, 1, 4, 6, 192), random(rnd, dt, 130, 1, 1, 192), random(rnd, DType.F32, 130));
            parity("conv Cin 72 (mma.sync)", dt, false, (b, x) -> b.conv2d(x[0], x[1], x[2], Conv2dParams.of(1, 1), null),
                    random(rnd, dt, 1, 5, 5, 72), random(rnd, dt, 32, 3, 3, 72), random(rnd, DType.F32, 32));
        } finally {
            cuda.useWgmmaGemm(false);
        }
    }

    @Test
    void splitKFillsTheGpuWithoutEmptySplits() {
        assertEquals(14, CudaWgmmaGemm.splits(10, 11520, 132), "SD1.5 8x8 level 3x3 conv, batch 2");
        assertEquals(1, CudaWgmmaGemm.splits(192, 2880, 132), "SD1.5 64x64 level: enough tiles");
        assertEquals(4, CudaWgmmaGemm.splits(1, 18 * 64, 132), "18 K tiles: at least 4 per split");
        assertEquals(1, CudaWgmmaGemm.splits(1, 7 * 64, 132), "too short to split");
        for (int tiles = 1; tiles < 140; tiles += 3)
            for (int K = 64; K < 20000; K += 777) {
                int s = CudaWgmmaGemm.splits(tiles, K, 132), kTiles = (K + 63) / 64, per = (kTiles + s - 1) / s;
                assertTrue(s >= 1 && s <= CudaLinalg.MAX_SPLITS && (s - 1) * per < kTiles, tiles + " tiles, K " + K + ": " + s + " splits");
                assertTrue(s == 1 || per >= CudaWgmmaGemm.MIN_SPLIT_K_TILES, tiles + " tiles, K " + K + ": " + per + " K tiles per split");
            }
    }

    @Test
    void convRefusesWhatItCannotGather() {
        String why = wgmma.convRefusal(DType.F16, 0x1000, 0x2000, 1, 8, 8, 96, 32, 864, 64);
        assertNotNull(why);
        assertTrue(why.startsWith("Cin = 96"), why);
        assertTrue(wgmma.convRefusal(DType.BF16, 0x1008, 0x2000, 1, 8, 8, 64, 32, 576, 64).startsWith("input address"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> wgmma.conv("conv2d", DType.F16, 0x1000, 0x2000, null, new byte[48], 1, 8, 8, 96, 32, 864, 64, null, null));
        assertTrue(e.getMessage().contains("conv2d") && e.getMessage().contains("1x8x8x96 -> 32"), e.getMessage());
    }

    @Test
    void refusesWhatTmaCannotLoad() {
        String why = wgmma.refusal(DType.F16, 0x1000, 13, 0, 0x2000, 13, 0, 9, 11, 13, 1);
        assertNotNull(why);
        assertTrue(why.startsWith("A: row stride 13"), why);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> wgmma.gemm("linear", DType.F16, 0x1000, 13, 0, 0x2000, 13, 0, null, 9, 11, 13, 1, null, null, 0f));
        assertTrue(e.getMessage().contains("linear") && e.getMessage().contains("9x11x13"), e.getMessage());
    }

    private void parity(String what, DType dt, boolean viaWgmma, BiFunction<Backend, Tensor[], Tensor> op, Tensor... in) {
        HopperTestSupport.parity(cuda, what + " (seed " + seed + ")", dt, viaWgmma, op, in);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void linearAndMatmulDispatchWhenOptedIn(DType dt) {
        cuda.useWgmmaGemm(true);
        try {
            parity("linear", dt, true, (b, x) -> b.linear(x[0], x[1], x[2]), random(rnd, dt, 2, 77, 320), random(rnd, dt, 200, 320), random(rnd, DType.F32, 200));
            parity("linear no bias", dt, true, (b, x) -> b.linear(x[0], x[1], null), random(rnd, dt, 33, 64), random(rnd, dt, 17, 64));
            parity("linear odd K (mma.sync fallback)", dt, false, (b, x) -> b.linear(x[0], x[1], x[2]), random(rnd, dt, 9, 13), random(rnd, dt, 11, 13), random(rnd, dt, 11));
            parity("matmul nt batched", dt, true, (be, x) -> be.matmul(x[0], x[1], false, true), random(rnd, dt, 3, 37, 24), random(rnd, dt, 3, 19, 24));
            parity("matmul nt broadcast", dt, true, (be, x) -> be.matmul(x[0], x[1], false, true), random(rnd, dt, 4, 150, 136), random(rnd, dt, 1, 260, 136));
            parity("matmul nt big", dt, true, (be, x) -> be.matmul(x[0], x[1], false, true), random(rnd, dt, 2048, 96), random(rnd, dt, 1160, 96));
            parity("matmul nn (mma.sync)", dt, false, (be, x) -> be.matmul(x[0], x[1], false, false), random(rnd, dt, 2, 40, 32), random(rnd, dt, 2, 32, 24));
        } finally {
            cuda.useWgmmaGemm(false);
        }
    }
}
