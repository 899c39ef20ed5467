package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Shapes;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Conv2dParams;

import java.util.Arrays;

import static dev.diffuse4j.runtime.cuda.CudaBackend.address;

/**
 * matmul, linear and conv2d on gemm.cu / conv.cu. F16/BF16 operands whose K-contiguous rows are
 * 16-byte aligned (K % 8 == 0) take the tensor-core kernels (copying an operand into that layout
 * when a transpose or broadcast requires it); F32 and the rest take the SIMT kernels. On an sm_90
 * device, opted in with {@code -Dd4j.cuda.gemm=wgmma}, linear, linear + GEGLU, matmul with B as [N, K]
 * and conv2d with Cin % 64 == 0 take the TMA + wgmma kernels instead ({@link CudaWgmmaGemm}; not yet validated
 * on a GPU). Tensor-core products
 * too small to fill the GPU split K ({@link #splitK}).
 */
final class CudaLinalg {
    private static final int MAX_GRID_Z = 65535;

    private final CudaBackend be;
    /** The Hopper GEMM, off unless opted in. */
    final CudaWgmmaGemm wgmma;

    CudaLinalg(CudaBackend be) {
        this.be = be;
        this.wgmma = new CudaWgmmaGemm(be);
    }

    /** A matrix operand as the kernels see it: base address, row/column strides, batch stride. */
    private record Operand(Tensor keep, long address, long rowStride, long colStride, long batchStride) {}

    // ---------------------------------------------------------------- matmul

    Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        CudaTypes.requireFloat("matmul", a);
        CudaTypes.requireFloat("matmul", b);
        if (a.rank() < 2 || b.rank() < 2)
            throw new IllegalArgumentException("matmul: operands need rank >= 2, got " + a.describe() + " and " + b.describe());
        int M = transA ? a.dim(-1) : a.dim(-2), K = transA ? a.dim(-2) : a.dim(-1);
        int Kb = transB ? b.dim(-1) : b.dim(-2), N = transB ? b.dim(-2) : b.dim(-1);
        if (K != Kb)
            throw new IllegalArgumentException("matmul: inner dimensions differ: " + a.describe() + (transA ? "^T" : "") + " x "
                    + b.describe() + (transB ? "^T" : "") + " (" + K + " vs " + Kb + ")");
        int[] batchA = Arrays.copyOf(a.shape(), a.rank() - 2), batchB = Arrays.copyOf(b.shape(), b.rank() - 2);
        int[] batch = Shapes.broadcast("matmul", batchA, batchB);
        int nb = (int) Shapes.numel(batch);
        DType t = DType.promote(a.dtype(), b.dtype());
        Tensor out = be.alloc("matmul", t, Shapes.concat(batch, M, N));
        if (out.numel() == 0) return out;
        try (Tensor ta = be.as(a, t); Tensor tb = be.as(b, t)) {
            long[] sa = ta.strides(), sb = tb.strides();
            int ra = ta.rank(), rb = tb.rank();
            // Logical A[m, k] and B[k, n] strides.
            long aRow = transA ? sa[ra - 1] : sa[ra - 2], aCol = transA ? sa[ra - 2] : sa[ra - 1];
            long bK = transB ? sb[rb - 1] : sb[rb - 2], bN = transB ? sb[rb - 2] : sb[rb - 1];
            long[] abs = Shapes.broadcastStrides(batchA, Arrays.copyOf(sa, ra - 2), batch);
            long[] bbs = Shapes.broadcastStrides(batchB, Arrays.copyOf(sb, rb - 2), batch);
            Long aBatch = uniformStride(batch, abs), bBatch = uniformStride(batch, bbs);
            boolean cublas = be.usesCublas();
            boolean tc = cublas || CudaTypes.isHalf(t) && K % 8 == 0;
            Operand A, B;
            if (tc) {
                // Tensor cores need 16-byte rows (multiples of 8 elements); cuBLAS takes any leading dimension.
                int q = cublas ? 1 : 8;
                boolean aOk = aCol == 1 && aRow >= K && aRow % q == 0 && aBatch != null && aBatch % q == 0 && address(ta) % (2L * q) == 0;
                A = aOk ? new Operand(null, address(ta), aRow, 1, aBatch)
                        : materialize("matmul", ta, batch, abs, M, K, aRow, aCol);
                boolean bUniform = bBatch != null && bBatch % q == 0 && address(tb) % (2L * q) == 0;
                boolean nt;
                if (bUniform && bK == 1 && bN >= K && bN % q == 0) {                      // rows of B are [N, K]
                    B = new Operand(null, address(tb), bN, 1, bBatch);
                    nt = true;
                } else if (bUniform && bN == 1 && bK >= N && bK % q == 0 && N % q == 0) {  // rows of B are [K, N]
                    B = new Operand(null, address(tb), bK, 1, bBatch);
                    nt = false;
                } else if (N % q == 0) {
                    B = materialize("matmul", tb, batch, bbs, K, N, bK, bN);
                    nt = false;
                } else {
                    B = materialize("matmul", tb, batch, bbs, N, K, bN, bK);
                    nt = true;
                }
                try {
                    if (cublas) {
                        be.cublas().gemm("matmul", Cublas.dataType(t), nt, M, N, K, A.address, A.rowStride, A.batchStride,
                                B.address, B.rowStride, B.batchStride, address(out), nb);
                        return out;
                    }
                    if (nt && wgmma.enabled() && wgmma.refusal(t, A.address, A.rowStride, A.batchStride, B.address, B.rowStride, B.batchStride,
                            M, N, K, nb) == null)
                        return wgmma.gemm("matmul", t, A.address, A.rowStride, A.batchStride, B.address, B.rowStride, B.batchStride,
                                out, M, N, K, nb, null, null, 0f);
                    return launchTc("matmul", t, A, B, nt, out, M, N, K, nb, 0, 0, null, 0f);
                } finally { close(A, B); }
            }
            A = aBatch != null ? new Operand(null, address(ta), aRow, aCol, aBatch) : materialize("matmul", ta, batch, abs, M, K, aRow, aCol);
            B = bBatch != null ? new Operand(null, address(tb), bK, bN, bBatch) : materialize("matmul", tb, batch, bbs, K, N, bK, bN);
            try {
                // SIMT: A[m,k] at m*lda + k*a_k; B[k,n] at k*b_k + n*b_n.
                return launchSimt("matmul", t, A.address, A.rowStride, A.colStride, A.batchStride,
                        B.address, B.rowStride, B.colStride, B.batchStride, out, M, N, K, nb, null);
            } finally { close(A, B); }
        }
    }

    private static void close(Operand a, Operand b) {
        if (a.keep != null) a.keep.close();
        if (b.keep != null) b.keep.close();
    }

    /** The single stride s with offset(batch i) = i * s over the flattened batch, or null when there is none. */
    private static Long uniformStride(int[] batch, long[] strides) {
        long s = -1, span = 1;
        for (int d = batch.length - 1; d >= 0; d--) {
            if (batch[d] == 1) continue;
            if (s < 0) {
                if (strides[d] % span != 0) return null;
                s = strides[d] / span;
            } else if (strides[d] != s * span) return null;
            span *= batch[d];
        }
        return s < 0 ? 0L : s;
    }

    /** Copies a (batched, broadcast, strided) operand into a contiguous [nb, rows, cols] buffer. */
    private Operand materialize(String op, Tensor x, int[] batch, long[] batchStrides, int rows, int cols, long rowStride, long colStride) {
        int nb = (int) Shapes.numel(batch);
        Tensor buf = be.alloc(op, x.dtype(), nb, rows, cols);
        int[] shape = Shapes.concat(batch, rows, cols);
        long[] src = Arrays.copyOf(batchStrides, batch.length + 2);
        src[batch.length] = rowStride;
        src[batch.length + 1] = colStride;
        be.layout().copyStrided(op, address(x), shape, src, x.dtype(), address(buf), shape, Shapes.contiguousStrides(shape));
        return new Operand(buf, address(buf), cols, 1, (long) rows * cols);
    }

    // ---------------------------------------------------------------- linear

    Tensor linear(Tensor x, Tensor w, Tensor bias) {
        CudaTypes.requireFloat("linear", x);
        if (w.rank() != 2 || w.dim(1) != x.dim(-1))
            throw new IllegalArgumentException("linear: weight " + w.describe() + " does not fit input " + x.describe() + " (expected [out, " + x.dim(-1) + "])");
        if (bias != null && bias.numel() != w.dim(0))
            throw new IllegalArgumentException("linear: bias " + bias.describe() + " does not match " + w.dim(0) + " outputs");
        DType t = x.dtype();
        int K = x.dim(-1), N = w.dim(0);
        long M = Shapes.rows(x.shape());
        Tensor out = rowsOutput("linear", x, t, N);
        if (out.numel() == 0) return out;
        try (Tensor tx = be.contiguousAs(x, t); Tensor tw = be.contiguousAs(w, t); Tensor tb = epilogueBias("linear", bias)) {
            if (be.usesCublas()) {
                be.cublas().gemm("linear", Cublas.dataType(t), true, (int) M, N, K, address(tx), K, 0, address(tw), K, 0, address(out), 1);
                if (tb != null) addBias(out, tb, t);
                return out;
            }
            boolean tc = CudaTypes.isHalf(t) && K % 8 == 0 && address(tx) % 16 == 0 && address(tw) % 16 == 0;
            Operand A = new Operand(null, address(tx), K, 1, 0), B = new Operand(null, address(tw), K, 1, 0);
            if (tc && wgmma.enabled() && wgmma.refusal(t, address(tx), K, 0, address(tw), K, 0, (int) M, N, K, 1) == null)
                return wgmma.gemm("linear", t, address(tx), K, 0, address(tw), K, 0, out, (int) M, N, K, 1, tb, null, 0f);
            if (tc) return launchTc("linear", t, A, B, true, out, (int) M, N, K, 1, 0, 0, tb, 0f);
            return launchSimt("linear", t, address(tx), K, 1, 0, address(tw), 1, K, 0, out, (int) M, N, K, 1, tb);
        }
    }

    /**
     * geglu(linear(x, w, bias)) in one tensor-core pass (gemm.cuh's GEGLU epilogue): the [.., 2n]
     * projection is never stored. Half precision with 16-byte rows and n % 8 == 0 (every SD
     * transformer: n = 4 * dim); otherwise, and under cuBLAS, the two ops run one after the other.
     */
    Tensor linearGeglu(Tensor x, Tensor w, Tensor bias) {
        int K = x.dim(-1), N = w.rank() == 2 ? w.dim(0) : -1;
        boolean fusable = CudaTypes.isHalf(x.dtype()) && !be.usesCublas() && N > 0 && N % 16 == 0 && K % 8 == 0 && w.dim(1) == K
                && (bias == null || bias.numel() == N);
        if (!fusable) {
            try (Tensor h = linear(x, w, bias)) {
                return be.geglu(h);
            }
        }
        DType t = x.dtype();
        long M = Shapes.rows(x.shape());
        Tensor out = rowsOutput("linear+geglu", x, t, N / 2);
        if (out.numel() == 0) return out;
        try (Tensor tx = be.contiguousAs(x, t); Tensor tw = be.contiguousAs(w, t); Tensor tb = epilogueBias("linear+geglu", bias)) {
            if (address(tx) % 16 != 0 || address(tw) % 16 != 0) {
                out.close();
                try (Tensor h = linear(x, w, bias)) {
                    return be.geglu(h);
                }
            }
            if (wgmma.enabled() && wgmma.gegluRefusal(t, address(tx), address(tw), M, N / 2, K) == null)
                return wgmma.linearGeglu("linear+geglu", t, address(tx), address(tw), out, (int) M, N / 2, K, tb);
            boolean large = tiles((int) M, N, 128, 1) >= be.ctx.smCount;
            int bm = large ? 128 : 64;
            byte[] args = gemmArgs(address(tx), K, 1, 0, address(tw), K, 1, K, 0, address(out), N / 2, 0, 0, 0, 0,
                    (int) M, N, K, tb, 1f, 0f);
            be.ctx.launch("linear+geglu", be.k.get("gemm", "gemm_tc_" + CudaTypes.suffix(t) + "_nt_" + (large ? "l" : "s") + "_geglu"),
                    (N + bm - 1) / bm, ((int) M + bm - 1) / bm, 1, large ? 256 : 128, large ? 65536 : 32768, args);
            return out;
        }
    }

    /** The [..., n] output of a per-row op over x (linear and its fusions); more rows than an int holds are refused. */
    private Tensor rowsOutput(String op, Tensor x, DType t, int n) {
        if (Shapes.rows(x.shape()) > Integer.MAX_VALUE) throw new IllegalArgumentException(op + ": too many rows in " + x.describe());
        int[] shape = x.shape();
        shape[shape.length - 1] = n;
        return be.alloc(op, t, shape);
    }

    /** A bias as the GEMM epilogue reads it (contiguous, on this device, a float dtype), or null. */
    private Tensor epilogueBias(String op, Tensor bias) {
        if (bias == null) return null;
        be.requireHere(bias);
        CudaTypes.requireFloat(op + " bias", bias);
        return bias.isContiguous() ? bias.share() : be.contiguous(bias);
    }

    /** out[r, n] += bias[n] in place (the cuBLAS path has no epilogue). */
    private void addBias(Tensor out, Tensor bias, DType t) {
        try (Tensor b = be.as(bias, t)) {
            long n = out.numel();
            be.ctx.launch("linear bias", be.k.get("elementwise", "binary_row_" + CudaTypes.suffix(t)), be.grid(n), 1, 1, 256, 0,
                    address(out), address(b), address(out), n, b.numel(), dev.diffuse4j.runtime.ops.BinaryOp.ADD.ordinal());
        }
    }

    // ---------------------------------------------------------------- conv2d

    /** CUDA's limit on gridDim.y (and z); a test lowers it to exercise the one-image-per-slice launch. */
    static int gridYLimit = 65535;

    Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p, Tensor residual) {
        CudaTypes.requireFloat("conv2d", x);
        if (x.rank() != 4 || w.rank() != 4 || w.dim(3) != x.dim(3))
            throw new IllegalArgumentException("conv2d: expects x [B, H, W, Cin] and w [Cout, kh, kw, Cin], got " + x.describe() + " and " + w.describe());
        int Bn = x.dim(0), H = x.dim(1), W = x.dim(2), Cin = x.dim(3), Cout = w.dim(0), kh = w.dim(1), kw = w.dim(2);
        int Ho = p.outH(H, kh), Wo = p.outW(W, kw);
        if (Ho <= 0 || Wo <= 0) throw new IllegalArgumentException("conv2d: kernel " + kh + "x" + kw + " does not fit input " + x.describe() + " with " + p);
        if (bias != null && bias.numel() != Cout)
            throw new IllegalArgumentException("conv2d: bias " + bias.describe() + " does not match " + Cout + " output channels");
        if (residual != null && !Arrays.equals(residual.shape(), new int[]{Bn, Ho, Wo, Cout}))
            throw new IllegalArgumentException("conv2d: residual " + residual.describe() + " must be [" + Bn + ", " + Ho + ", " + Wo + ", " + Cout + "]");
        DType t = x.dtype();
        Tensor out = be.alloc("conv2d", t, Bn, Ho, Wo, Cout);
        if (out.numel() == 0) return out;
        long Ml = (long) Bn * Ho * Wo;
        if (Ml > Integer.MAX_VALUE) throw new IllegalArgumentException("conv2d: output too large: " + out.describe());
        int M = (int) Ml, N = Cout, K = kh * kw * Cin;
        try (Tensor tx = be.contiguousAs(x, t); Tensor tw = be.contiguousAs(w, t); Tensor tb = epilogueBias("conv2d", bias);
             Tensor tr = residual == null ? null : be.contiguousAs(residual, t)) {
            boolean tc = CudaTypes.isHalf(t) && Cin % 8 == 0 && address(tx) % 16 == 0 && address(tw) % 16 == 0;
            if (tc && wgmma.enabled() && wgmma.convRefusal(t, address(tx), address(tw), Bn, H, W, Cin, Cout, K, M) == null)
                return wgmma.conv("conv2d", t, address(tx), address(tw), out, convArgs(Bn, H, W, Cin, Ho, Wo, kh, kw, p), Bn, H, W, Cin, Cout, K, M, tb, tr);
            int splits = tc ? splitK(tiles(M, N, 64, 1), K, be.ctx.smCount) : 1;
            if (splits > 1) {
                byte[] args = gemmArgs(address(tx), K, 1, 0, address(tw), K, 1, K, 0, address(out), N, 0,
                        CudaTypes.addressOrNull(tr), N, 0, M, N, K, tb, 1f, tr == null ? 0f : 1f);
                byte[] conv = convArgs(Bn, H, W, Cin, Ho, Wo, kh, kw, p);
                return launchSplit("conv2d", t, "conv", "conv_tc_" + CudaTypes.suffix(t) + "_split", args, conv, out, M, N, K, 1, splits);
            }
            boolean large = tc && tiles(M, N, 128, 1) >= be.ctx.smCount;
            int bm = large ? 128 : 64;
            // Output rows go on grid y (at most 65535 tiles). Past that, one image per grid z slice.
            boolean perImage = (M + bm - 1) / bm > gridYLimit;
            int rows = perImage ? Ho * Wo : M, slices = perImage ? Bn : 1;
            if ((rows + bm - 1) / bm > gridYLimit || slices > gridYLimit)
                throw new IllegalArgumentException("conv2d: output " + out.describe() + " exceeds the launch grid (" + gridYLimit
                        + " tiles of " + bm + " pixels per image, " + gridYLimit + " images)");
            byte[] conv = convArgs(perImage ? 1 : Bn, H, W, Cin, Ho, Wo, kh, kw, p);
            long sx = perImage ? (long) H * W * Cin : 0, sOut = perImage ? (long) Ho * Wo * Cout : 0;
            byte[] args = gemmArgs(address(tx), K, 1, sx, address(tw), K, 1, K, 0, address(out), N, sOut,
                    CudaTypes.addressOrNull(tr), N, sOut, rows, N, K, tb, 1f, tr == null ? 0f : 1f);
            String sfx = CudaTypes.suffix(t);
            String kernel = tc ? "conv_tc_" + sfx + (large ? "_l" : "_s") : "conv_simt_" + sfx;
            be.ctx.launch("conv2d", be.k.get("conv", kernel), (N + bm - 1) / bm, (rows + bm - 1) / bm, slices,
                    tc ? (large ? 256 : 128) : 256, tc ? (large ? 65536 : 32768) : 0, args, conv);
            return out;
        }
    }

    /** The ConvArgs struct of gemm.cuh. */
    private static byte[] convArgs(int Bn, int H, int W, int Cin, int Ho, int Wo, int kh, int kw, Conv2dParams p) {
        return new CStruct(48).i32(Bn).i32(H).i32(W).i32(Cin).i32(Ho).i32(Wo).i32(kh).i32(kw)
                .i32(p.strideH()).i32(p.strideW()).i32(p.padTop()).i32(p.padLeft()).bytes();
    }

    // ---------------------------------------------------------------- launches

    static long tiles(int M, int N, int tile, int nb) { return (long) ((M + tile - 1) / tile) * ((N + tile - 1) / tile) * nb; }

    /** Split-K on unless -Dd4j.cuda.splitk=false (the GPU bench's A/B run). */
    static boolean splitKEnabled = !"false".equals(System.getProperty("d4j.cuda.splitk"));
    /** Fewest k tiles (of 32) a split sums: shorter splits spend more on the pipeline's fill than they win. */
    static final int MIN_SPLIT_K_TILES = 8;
    /** Most splits: the F32 partials cost splits * M * N * 4 bytes of traffic. */
    static final int MAX_SPLITS = 16;

    /**
     * How many k splits a tensor-core product gets (1: none): when its 64x64 tiles do not give every
     * SM a block and K is long enough, about one block per SM, each summing at least
     * {@link #MIN_SPLIT_K_TILES} k tiles. SD1.5's 8x8 level at batch 2 (M = 128, N = 1280,
     * K = 11520 for the 3x3 convs: 40 tiles) gets 4 splits on 132 SMs.
     */
    static int splitK(long tiles64, int K, int sms) { return splitCount(tiles64, (K + 31) / 32, sms, MIN_SPLIT_K_TILES); }

    /**
     * The split-K policy of every tensor-core kernel: a grid of {@code tiles} blocks that leaves SMs
     * idle gets about one block per SM, each split summing at least {@code minPerSplit} of the
     * {@code kTiles} K tiles, at most {@link #MAX_SPLITS}, and none empty (1: no split).
     */
    static int splitCount(long tiles, int kTiles, int sms, int minPerSplit) {
        if (!splitKEnabled || tiles >= sms) return 1;
        long want = (sms + tiles - 1) / tiles;
        int s = (int) Math.max(1, Math.min(Math.min(want, MAX_SPLITS), kTiles / minPerSplit));
        return (kTiles + perSplit(kTiles, s) - 1) / perSplit(kTiles, s);
    }

    /** K tiles per split. */
    static int perSplit(int kTiles, int splits) { return (kTiles + splits - 1) / splits; }

    /** gemm.cuh's SplitK struct over the partials buffer {@code ws}. */
    static byte[] splitArgs(Tensor ws, int splits, int per) { return new CStruct(16).ptr(address(ws)).i32(splits).i32(per).bytes(); }

    /** gemm.cu's splitk_reduce: adds the {@code sk} partials up in order, with the epilogue of {@code args} (GemmArgs). */
    void reduceSplits(String op, DType t, byte[] args, byte[] sk, int nb, int M, int N) {
        be.ctx.launch(op + " split-K reduce", be.k.get("gemm", "splitk_reduce_" + CudaTypes.suffix(t)),
                be.grid((long) nb * M * N), 1, 1, 256, 0, args, sk, nb);
    }

    /**
     * A split-K product: {@code kernel} of {@code module} (gemm.cuh's SplitK as its last struct, grid
     * z = nb * splits) writes F32 partial sums to a scratch buffer, which gemm.cu's splitk_reduce adds
     * up in order, with the epilogue of {@code args} (alpha, bias, residual, output).
     */
    private Tensor launchSplit(String op, DType t, String module, String kernel, byte[] args, byte[] conv, Tensor out,
                               int M, int N, int K, int nb, int splits) {
        try (Tensor ws = be.alloc(op + " split-K partials", DType.F32, nb * splits, M, N)) {
            byte[] sk = splitArgs(ws, splits, perSplit((K + 31) / 32, splits));
            CudaContext.Kernel k = be.k.get(module, kernel);
            int gx = (N + 63) / 64, gy = (M + 63) / 64;
            if (conv != null) be.ctx.launch(op, k, gx, gy, nb * splits, 128, 32768, args, conv, sk);
            else be.ctx.launch(op, k, gx, gy, nb * splits, 128, 32768, args, sk);
            reduceSplits(op, t, args, sk, nb, M, N);
            return out;
        }
    }

    /** Tensor-core GEMM; {@code nt}: B rows are N (B is [N, K]), else B rows are K ([K, N]). */
    private Tensor launchTc(String op, DType t, Operand A, Operand B, boolean nt, Tensor out, int M, int N, int K, int nb,
                            long resAddr, long ldr, Tensor bias, float beta) {
        int splits = splitK(tiles(M, N, 64, nb), K, be.ctx.smCount);
        if (splits > 1 && (long) nb * splits <= MAX_GRID_Z) {
            byte[] args = gemmArgs(A.address, A.rowStride, 1, A.batchStride, B.address, B.rowStride, nt ? 1 : B.rowStride,
                    nt ? B.rowStride : 1, B.batchStride, address(out), N, (long) M * N, resAddr, ldr, (long) M * N, M, N, K, bias, 1f, beta);
            return launchSplit(op, t, "gemm", "gemm_tc_" + CudaTypes.suffix(t) + (nt ? "_nt" : "_nn") + "_split", args, null, out, M, N, K, nb, splits);
        }
        boolean large = tiles(M, N, 128, nb) >= be.ctx.smCount;
        int bm = large ? 128 : 64;
        String name = "gemm_tc_" + CudaTypes.suffix(t) + (nt ? "_nt_" : "_nn_") + (large ? "l" : "s");
        CudaContext.Kernel kern = be.k.get("gemm", name);
        long es = t.byteSize(), sC = (long) M * N;
        for (int z0 = 0; z0 < nb; z0 += MAX_GRID_Z) {
            int nz = Math.min(MAX_GRID_Z, nb - z0);
            byte[] args = gemmArgs(A.address + z0 * A.batchStride * es, A.rowStride, 1, A.batchStride,
                    B.address + z0 * B.batchStride * es, B.rowStride, nt ? 1 : B.rowStride, nt ? B.rowStride : 1, B.batchStride,
                    address(out) + z0 * sC * es, N, sC, resAddr, ldr, sC, M, N, K, bias, 1f, beta);
            be.ctx.launch(op, kern, (N + bm - 1) / bm, (M + bm - 1) / bm, nz, large ? 256 : 128, large ? 65536 : 32768, args);
        }
        return out;
    }

    /** SIMT GEMM: A[m, k] at a + m*lda + k*aK, B[k, n] at b + k*bK + n*bN, batch strides sA/sB. */
    private Tensor launchSimt(String op, DType t, long a, long lda, long aK, long sA, long b, long bK, long bN, long sB,
                              Tensor out, int M, int N, int K, int nb, Tensor bias) {
        CudaContext.Kernel kern = be.k.get("gemm", "gemm_simt_" + CudaTypes.suffix(t));
        long es = t.byteSize(), sC = (long) M * N;
        for (int z0 = 0; z0 < nb; z0 += MAX_GRID_Z) {
            int nz = Math.min(MAX_GRID_Z, nb - z0);
            byte[] args = gemmArgs(a + z0 * sA * es, lda, aK, sA, b + z0 * sB * es, 0, bK, bN, sB,
                    address(out) + z0 * sC * es, N, sC, 0, 0, 0, M, N, K, bias, 1f, 0f);
            be.ctx.launch(op, kern, (N + 63) / 64, (M + 63) / 64, nz, 256, 0, args);
        }
        return out;
    }

    /** The GemmArgs struct of gemm.cuh. */
    static byte[] gemmArgs(long a, long lda, long aK, long sA,
                           long b, long ldb, long bK, long bN, long sB,
                           long c, long ldc, long sC, long r, long ldr, long sR,
                           int M, int N, int K, Tensor bias, float alpha, float beta) {
        return new CStruct(160)
                .ptr(a).ptr(b).ptr(c).ptr(CudaTypes.addressOrNull(bias)).ptr(r)
                .i64(lda).i64(ldb).i64(ldc).i64(ldr)
                .i64(sA).i64(sB).i64(sC).i64(sR)
                .i64(aK).i64(bK).i64(bN)
                .i32(M).i32(N).i32(K).i32(bias == null ? -1 : CudaTypes.code(bias.dtype()))
                .f32(alpha).f32(beta)
                .bytes();
    }
}
