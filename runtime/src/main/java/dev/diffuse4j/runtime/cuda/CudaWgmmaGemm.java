package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The Hopper GEMMs (TMA + wgmma, sm_90a): gemm_sm90.cu's C[b] = A[b] B[b]^T + bias + beta R[b]
 * with A [M, K] and B [N, K] both K-major, and conv_sm90.cu's implicit-GEMM NHWC convolution (the
 * same block, its A gathered from the image by cp.async); F16 or BF16, output in the same dtype.
 *
 * <p><b>Opt-in and not yet validated on a GPU</b>: used by matmul (B given as [N, K]), linear and
 * conv2d only on compute capability 9.0 and only when asked, with {@code -Dd4j.cuda.gemm=wgmma} or
 * {@link CudaBackend#useWgmmaGemm(boolean)}; CudaWgmmaGemmTest checks both against float64 and the
 * CPU backend on a Hopper GPU, and on the host emulator run as sm_90 (EmulatedApi). Operands TMA
 * cannot load (unaligned rows, overlapping batches, see {@link TensorMapSpec#refusal}) and convs
 * whose input channels are not a multiple of 64 keep the mma.sync kernels.
 */
final class CudaWgmmaGemm {
    static final int BM = 128, BN = 128, BK = 64, STAGES = 3, THREADS = 288;
    /** sm90.cuh WGMMA_SMEM_BYTES: STAGES stages of A and B tiles plus 1 KiB to align the ring. */
    static final int SMEM_BYTES = STAGES * (BM + BN) * BK * 2 + 1024;
    private static final int MAX_GRID = 65535;
    /** Fewest K tiles (of 64) a split sums: the ring's fill and the partials' traffic cost more below that. */
    static final int MIN_SPLIT_K_TILES = 4;

    private final CudaBackend be;
    private final boolean hopper;
    private volatile boolean enabled;
    private volatile HopperDriver driver;
    private static final AtomicLong LAUNCHES = new AtomicLong();

    CudaWgmmaGemm(CudaBackend be) {
        this.be = be;
        this.hopper = be.ctx.ccMajor == 9 && be.ctx.ccMinor == 0;
        this.enabled = hopper && "wgmma".equalsIgnoreCase(System.getProperty("d4j.cuda.gemm"));
    }

    /** Kernel launches so far in this process, attention_sm90's included (tests check that the dispatch took this path). */
    static long launches() { return LAUNCHES.get(); }

    /** Counts one launch of a Hopper kernel. */
    static void counted() { LAUNCHES.incrementAndGet(); }

    /** Whether the device is sm_90 (the Hopper kernels' only target). */
    boolean hopper() { return hopper; }

    /** Whether matmul/linear route eligible GEMMs here. */
    boolean enabled() { return enabled; }

    /** Turns the path on or off; on needs an sm_90 device and the driver's tensor-map call. */
    void enable(boolean on) {
        if (on) requireAvailable();
        enabled = on;
    }

    /** Throws {@link CudaUnavailableException} saying why the kernel cannot run here (not sm_90, no tensor-map call). */
    void requireAvailable() {
        requireHopper("wgmma GEMM");
        driver();
    }

    private void requireHopper(String op) {
        if (!hopper)
            throw new CudaUnavailableException(op + ": the wgmma/TMA kernels need compute capability 9.0 (H100/H200), " + be.ctx.describe()
                    + " is sm_" + be.ctx.ccMajor + be.ctx.ccMinor, null);
    }

    /** The tensor-map encoder (bound on first use). */
    HopperDriver driver() {
        HopperDriver d = driver;
        if (d != null) return d;
        synchronized (this) {
            if (driver == null) driver = HopperDriver.open(be.ctx.api);
            return driver;
        }
    }

    /**
     * Why this GEMM cannot run here, or null when it can. Operands: base address, row stride and
     * batch stride in elements (batch stride 0 = broadcast over the {@code nb} batches).
     */
    String refusal(DType t, long a, long lda, long sA, long b, long ldb, long sB, int M, int N, int K, int nb) {
        if (!hopper) return "not an sm_90 device";
        if (K < 1) return "K = 0";
        if (nb > MAX_GRID) return nb + " batches exceed the grid's z limit";
        if ((M + BM - 1) / BM > MAX_GRID) return "M = " + M + " exceeds the grid's y limit";
        String why = TensorMapSpec.refusal(t, a, M, K, lda, batches(sA, nb), sA, BM, BK);
        if (why != null) return "A: " + why;
        why = TensorMapSpec.refusal(t, b, N, K, ldb, batches(sB, nb), sB, BN, BK);
        return why == null ? null : "B: " + why;
    }

    private static long batches(long batchStride, int nb) { return batchStride == 0 ? 1 : nb; }

    /**
     * How many K splits a product of {@code tiles} 128x128 tiles gets ({@link CudaLinalg#splitCount}
     * with K tiles of 64, at least {@link #MIN_SPLIT_K_TILES} per split). SD1.5's 8x8 level at batch 2
     * (M = 128, N = 1280: 10 tiles; K = 11520 for the 3x3 convs) gets 14 splits on 132 SMs; its 64x64
     * level (M = 8192: 192 tiles and more) none. Splits happen only below one tile per SM, so grid z
     * (batches * splits < SMs * 16) stays far under its limit.
     */
    static int splits(long tiles, int K, int sms) { return CudaLinalg.splitCount(tiles, (K + BK - 1) / BK, sms, MIN_SPLIT_K_TILES); }

    /**
     * Launches {@code kernel} (split-K when {@code splits} > 1: its name + "_split", grid z = nb *
     * splits, F32 partials added up by gemm.cu's splitk_reduce with the epilogue of {@code reduceArgs}).
     */
    private void launch(String op, DType t, String module, String kernel, int M, int N, int K, int nb, int splits, byte[] reduceArgs,
                        Object... args) {
        int gx = (N + BN - 1) / BN, gy = (M + BM - 1) / BM;
        if (splits <= 1) {
            be.ctx.launch(op, be.k.get(module, kernel), gx, gy, nb, THREADS, SMEM_BYTES, args);
        } else {
            try (Tensor ws = be.alloc(op + " split-K partials", DType.F32, nb * splits, M, N)) {
                byte[] sk = CudaLinalg.splitArgs(ws, splits, CudaLinalg.perSplit((K + BK - 1) / BK, splits));
                Object[] withSplit = java.util.Arrays.copyOf(args, args.length + 1);
                withSplit[args.length] = sk;
                be.ctx.launch(op, be.k.get(module, kernel + "_split"), gx, gy, nb * splits, THREADS, SMEM_BYTES, withSplit);
                be.linalg.reduceSplits(op, t, reduceArgs, sk, nb, M, N);
            }
        }
        counted();
    }

    /**
     * out[z] (contiguous [nb, M, N]) = A[z] B[z]^T + bias + beta * R[z]; R (contiguous like out, or
     * null) in the output dtype, bias (any float dtype, N values, or null).
     */
    Tensor gemm(String op, DType t, long a, long lda, long sA, long b, long ldb, long sB, Tensor out, int M, int N, int K, int nb,
                Tensor bias, Tensor residual, float beta) {
        requireHopper(op);
        String why = refusal(t, a, lda, sA, b, ldb, sB, M, N, K, nb);
        if (why != null) throw new IllegalArgumentException(op + ": the wgmma GEMM " + M + "x" + N + "x" + K + " (batch " + nb + ", " + t + ") cannot run: " + why);
        HopperDriver d = driver();
        be.ctx.makeCurrent();  // the encode call wants an initialised driver with a context on this thread
        byte[] mapA = d.encode(op, TensorMapSpec.kMajor(op, t, a, M, K, lda, batches(sA, nb), sA, BM, BK), a);
        byte[] mapB = d.encode(op, TensorMapSpec.kMajor(op, t, b, N, K, ldb, batches(sB, nb), sB, BN, BK), b);
        long sC = (long) M * N;
        byte[] epi = epilogue(CudaTypes.address(out), bias, CudaTypes.addressOrNull(residual), N, N, sC, residual == null ? 0 : sC,
                M, N, K, 1f, residual == null ? 0f : beta, (int) batches(sA, nb), (int) batches(sB, nb));
        int splits = splits(CudaLinalg.tiles(M, N, BM, nb), K, be.ctx.smCount);
        byte[] reduce = splits > 1 ? CudaLinalg.gemmArgs(0, 0, 0, 0, 0, 0, 0, 0, 0, CudaTypes.address(out), N, sC,
                CudaTypes.addressOrNull(residual), N, residual == null ? 0 : sC, M, N, K, bias, 1f, residual == null ? 0f : beta) : null;
        launch(op, t, "gemm_sm90", "gemm_wgmma_" + CudaTypes.suffix(t) + "_nt", M, N, K, nb, splits, reduce, mapA, mapB, epi);
        return out;
    }

    /**
     * Why the wgmma linear + GEGLU cannot run here, or null when it can: x [M, K] and w [2 * inner, K]
     * contiguous at {@code x} and {@code w}.
     */
    String gegluRefusal(DType t, long x, long w, long M, int inner, int K) {
        if (!hopper) return "not an sm_90 device";
        if (inner % (BN / 2) != 0) return "inner = " + inner + " is not a multiple of " + BN / 2;
        if ((M + BM - 1) / BM > MAX_GRID) return "M = " + M + " exceeds the grid's y limit";
        String why = TensorMapSpec.refusal(t, x, M, K, K, 1, 0, BM, BK);
        if (why != null) return "x: " + why;
        why = TensorMapSpec.refusal(t, w, 2L * inner, K, K, 1, 0, BN / 2, BK);
        return why == null ? null : "weights: " + why;
    }

    /** out [M, inner] = geglu(x w^T + bias), gemm_sm90.cu's _geglu kernel (bias: 2 * inner values or null). */
    Tensor linearGeglu(String op, DType t, long x, long w, Tensor out, int M, int inner, int K, Tensor bias) {
        requireHopper(op);
        String why = gegluRefusal(t, x, w, M, inner, K);
        if (why != null) throw new IllegalArgumentException(op + ": the wgmma linear + GEGLU " + M + "x" + K + " -> " + inner + " (" + t
                + ") cannot run: " + why);
        HopperDriver d = driver();
        be.ctx.makeCurrent();
        byte[] mapX = d.encode(op, TensorMapSpec.kMajor(op, t, x, M, K, K, 1, 0, BM, BK), x);
        byte[] mapW = d.encode(op, TensorMapSpec.kMajor(op, t, w, 2L * inner, K, K, 1, 0, BN / 2, BK), w);
        byte[] epi = epilogue(CudaTypes.address(out), bias, 0, inner, 0, 0, 0, M, inner, K, 1f, 0f, 1, 1);
        launch(op, t, "gemm_sm90", "gemm_wgmma_" + CudaTypes.suffix(t) + "_nt_geglu", M, inner * 2, K, 1, 1, null, mapX, mapW, epi);
        return out;
    }

    /**
     * Why the wgmma conv cannot run here, or null when it can: x [Bn, H, W, Cin] contiguous at
     * address {@code x}, weights [Cout, K = kh * kw * Cin] contiguous at {@code w}, M = Bn * Ho * Wo output pixels.
     */
    String convRefusal(DType t, long x, long w, int Bn, int H, int W, int Cin, int Cout, int K, long M) {
        if (!hopper) return "not an sm_90 device";
        if (Cin % BK != 0) return "Cin = " + Cin + " is not a multiple of " + BK + " (a K tile must be one tap's channels)";
        if (x % 16 != 0) return "input address 0x" + Long.toHexString(x) + " is not 16-byte aligned";
        if ((long) Bn * H * W > Integer.MAX_VALUE) return "the input has more than 2^31 pixels";
        if ((M + BM - 1) / BM > MAX_GRID) return "M = " + M + " exceeds the grid's y limit";
        String why = TensorMapSpec.refusal(t, w, Cout, K, K, 1, 0, BN, BK);
        return why == null ? null : "weights: " + why;
    }

    /** out [M, Cout] = conv(x, w) + bias + residual (contiguous like out, or null), conv_sm90.cu. */
    Tensor conv(String op, DType t, long x, long w, Tensor out, byte[] convArgs, int Bn, int H, int W, int Cin, int Cout, int K, int M,
                Tensor bias, Tensor residual) {
        requireHopper(op);
        String why = convRefusal(t, x, w, Bn, H, W, Cin, Cout, K, M);
        if (why != null) throw new IllegalArgumentException(op + ": the wgmma conv " + Bn + "x" + H + "x" + W + "x" + Cin + " -> " + Cout
                + " (" + t + ") cannot run: " + why);
        HopperDriver d = driver();
        be.ctx.makeCurrent();
        byte[] mapW = d.encode(op, TensorMapSpec.kMajor(op, t, w, Cout, K, K, 1, 0, BN, BK), w);
        byte[] epi = epilogue(CudaTypes.address(out), bias, CudaTypes.addressOrNull(residual), Cout, Cout, 0, 0, M, Cout, K,
                1f, residual == null ? 0f : 1f, 1, 1);
        int splits = splits(CudaLinalg.tiles(M, Cout, BM, 1), K, be.ctx.smCount);
        byte[] reduce = splits > 1 ? CudaLinalg.gemmArgs(0, 0, 0, 0, 0, 0, 0, 0, 0, CudaTypes.address(out), Cout, 0,
                CudaTypes.addressOrNull(residual), Cout, 0, M, Cout, K, bias, 1f, residual == null ? 0f : 1f) : null;
        launch(op, t, "conv_sm90", "conv_wgmma_" + CudaTypes.suffix(t), M, Cout, K, 1, splits, reduce, mapW, epi, convArgs, x);
        return out;
    }

    /** The WgmmaEpilogue struct of sm90.cuh (88 bytes). */
    static byte[] epilogue(long c, Tensor bias, long r, long ldc, long ldr, long sC, long sR, int M, int N, int K,
                           float alpha, float beta, int batchA, int batchB) {
        return new CStruct(88)
                .ptr(c).ptr(CudaTypes.addressOrNull(bias)).ptr(r)
                .i64(ldc).i64(ldr).i64(sC).i64(sR)
                .i32(M).i32(N).i32(K).i32(bias == null ? -1 : CudaTypes.code(bias.dtype()))
                .f32(alpha).f32(beta)
                .i32(batchA).i32(batchB)
                .bytes();
    }
}
