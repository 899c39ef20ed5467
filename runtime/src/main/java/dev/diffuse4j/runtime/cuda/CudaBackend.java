package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Numbers;
import dev.diffuse4j.runtime.Shapes;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionGrads;
import dev.diffuse4j.runtime.ops.AttentionResult;
import dev.diffuse4j.runtime.ops.Backend;
import dev.diffuse4j.runtime.ops.Backends;
import dev.diffuse4j.runtime.ops.BinaryOp;
import dev.diffuse4j.runtime.ops.Conv2dParams;
import dev.diffuse4j.runtime.ops.NormGrads;
import dev.diffuse4j.runtime.ops.UnaryOp;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The CUDA backend: tensors in device memory (F16/BF16 storage with F32 accumulation, F32 where
 * asked), every op a launch of the hand-written kernels of diffuse4j-kernels, queued in order on one
 * stream. Results keep the (promoted) dtype of their inputs. Host copies ({@link #copyFrom},
 * {@link #toCpu}) and {@link #synchronize} are the points where the host waits.
 *
 * <p>Reverse mode (runtime.autograd): the backward rules run on this backend through the forward ops
 * (matmul, elementwise, concat, ...) and the reverse-mode primitives of {@link Backend}
 * ({@code sumToShape}, {@code unaryBackward}, {@code groupNormBackward}, {@code im2col},
 * {@code col2im}, {@code embeddingBackward}, {@code selectsFirst}), which have kernels of their own
 * ({@link CudaGrad}, grad.cu; F32 results, deterministic reductions). The attention backward runs
 * on the device ({@link CudaAttentionGrad}, joint and stratified) except for AdaIN calls, which
 * take the host round trip of {@link CudaAttentionBackward}.
 *
 * <p>Obtain it with {@code Backends.of(Device.cuda())}; where CUDA cannot run that throws
 * {@link CudaUnavailableException} ("CUDA backend unavailable: &lt;reason&gt;").
 */
public final class CudaBackend implements Backend {
    private static final long COPY_CHUNK = 1L << 30;

    final Device device;
    final CudaContext ctx;
    final CudaAllocator allocator;
    final CudaKernels k;
    private final CudaElementwise elementwise;
    final CudaLinalg linalg;
    private final CudaNorms norms;
    private final CudaLayout layout;
    private final CudaAttention attention;
    private final CudaGrad grad;
    private final CudaAttentionGrad attentionGrad;
    private volatile GemmImplementation gemm;
    private volatile Cublas cublas;

    private final AtomicLong captures = new AtomicLong();

    /** Which code runs matmul and linear: the hand-written kernels (default) or the installed cuBLAS. */
    public enum GemmImplementation { KERNELS, CUBLAS }

    CudaBackend(Device device, CudaContext ctx) {
        this.device = device;
        this.ctx = ctx;
        this.allocator = new CudaAllocator(ctx);
        this.k = new CudaKernels(ctx);
        this.elementwise = new CudaElementwise(this);
        this.linalg = new CudaLinalg(this);
        this.norms = new CudaNorms(this);
        this.layout = new CudaLayout(this);
        this.attention = new CudaAttention(this);
        this.grad = new CudaGrad(this);
        this.attentionGrad = new CudaAttentionGrad(this);
        this.gemm = "cublas".equalsIgnoreCase(System.getProperty("d4j.cuda.gemm")) ? GemmImplementation.CUBLAS : GemmImplementation.KERNELS;
    }

    /** Opens the backend of a CUDA device, or throws {@link CudaUnavailableException} saying why it cannot run here. */
    public static CudaBackend open(Device device) {
        if (device.kind() != Device.Kind.CUDA) throw new IllegalArgumentException("not a cuda device: " + device);
        return new CudaBackend(device, CudaContext.open(CudaDriver.api(), device.index()));
    }

    /** Number of CUDA devices this process can use; 0 where CUDA cannot run (see {@link #unavailableReason()}). */
    public static int deviceCount() {
        try {
            DriverApi api = CudaDriver.api();
            if (api.init() != 0) return 0;
            int[] n = new int[1];
            return api.deviceGetCount(n) == 0 ? n[0] : 0;
        } catch (CudaUnavailableException e) {
            return 0;
        }
    }

    /** Why CUDA cannot run here, or null when device 0 opens. */
    public static String unavailableReason() {
        try {
            get();
            return null;
        } catch (CudaUnavailableException e) {
            return e.reason();
        }
    }

    /** The backend of {@code Device.cuda(0)} (shared, via {@link Backends}). */
    public static CudaBackend get() { return (CudaBackend) Backends.of(Device.cuda()); }

    @Override public Device device() { return device; }

    /** "cuda:0 NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 81559 MiB)"; under the host emulator it says "EMULATED". */
    public String describe() { return ctx.describe(); }

    /** True when the kernels run in the host emulator (-Dd4j.cuda.emulator): right answers, no GPU speed. */
    public boolean emulated() { return ctx.api.emulated(); }

    public int multiprocessors() { return ctx.smCount; }

    // ---------------------------------------------------------------- GEMM implementation

    /**
     * Chooses the code behind matmul and linear (also {@code -Dd4j.cuda.gemm=cublas}). cuBLAS is
     * bound on first use through java.lang.foreign; choosing it where it cannot be found throws
     * {@link CudaUnavailableException} and leaves the kernels in place.
     */
    public void gemmImplementation(GemmImplementation impl) {
        if (impl == GemmImplementation.CUBLAS) cublas();
        gemm = impl;
    }

    public GemmImplementation gemmImplementation() { return gemm; }

    /** The bound cuBLAS (binding it on first call). */
    Cublas cublas() {
        Cublas c = cublas;
        if (c != null) return c;
        synchronized (this) {
            if (cublas == null) {
                if (emulated())
                    throw new CudaUnavailableException("cuBLAS is not available under the host emulator (" + describe() + ")", null);
                ctx.makeCurrent();
                cublas = Cublas.open(ctx.stream);
            }
            return cublas;
        }
    }

    boolean usesCublas() { return gemm == GemmImplementation.CUBLAS; }

    /**
     * Routes eligible F16/BF16 GEMMs, convs, FF1 + GEGLU and head-dim-64 attention through the opt-in
     * Hopper (TMA + wgmma) kernels; see {@link CudaWgmmaGemm} and {@link CudaWgmmaAttention}.
     */
    public void useWgmmaGemm(boolean on) { linalg.wgmma.enable(on); }

    /** True while eligible GEMMs, convs and attention calls take the Hopper kernels. */
    public boolean usesWgmmaGemm() { return linalg.wgmma.enabled(); }

    /** Launches of the Hopper wgmma kernels so far in this process (whether an op took that path). */
    public static long wgmmaLaunches() { return CudaWgmmaGemm.launches(); }

    /** Why {@link #useWgmmaGemm} cannot be turned on here, or null when it can. */
    public String wgmmaUnavailableReason() {
        try {
            linalg.wgmma.requireAvailable();
            return null;
        } catch (CudaUnavailableException e) {
            return e.reason();
        }
    }

    /** Why {@link GemmImplementation#CUBLAS} cannot be chosen here, or null when cuBLAS binds (it stays bound). */
    public String cublasUnavailableReason() {
        try {
            cublas();
            return null;
        } catch (CudaUnavailableException e) {
            return e.reason();
        }
    }

    // ---------------------------------------------------------------- memory

    /** Device memory accounting (in use, peak, cached). */
    public CudaMemoryStats memoryStats() { return allocator.stats(); }

    public void resetPeakMemory() { allocator.resetPeak(); }

    /** Gives cached free blocks back to the driver (e.g. before handing the GPU to another library). */
    public void releaseCachedMemory() { allocator.releaseCache(); }

    /** Waits until every queued op has finished; a kernel fault surfaces here. */
    public void synchronize() { ctx.synchronize("synchronize"); }

    /** New uninitialised tensor; {@code op} names the caller in an out-of-memory message. */
    Tensor alloc(String op, DType dtype, int... shape) {
        Shapes.check(shape);
        long bytes = Shapes.numel(shape) * dtype.byteSize();
        CudaAllocator.Block b = allocator.allocate(bytes, op);
        return Tensor.adopt(new CudaStorage(device, allocator, b, b.size), dtype, shape);
    }

    @Override public Tensor empty(DType dtype, int... shape) { return alloc("empty", dtype, shape); }

    // ---------------------------------------------------------------- host <-> device

    @Override
    public Tensor copyFrom(Tensor src) {
        if (src.device().equals(device)) return contiguous(src);
        if (!src.device().isCpu())
            throw new IllegalArgumentException("copy to " + device + ": copy " + src + " to the cpu first (no peer copies)");
        if (allocator.isCapturing())
            throw new IllegalStateException("copy to " + device + ": host-to-device copies cannot be captured in a CUDA graph; "
                    + "copy into a static input tensor with copyInto() before replay instead");
        try (Tensor host = src.isContiguous() ? src.share() : Backends.cpu().contiguous(src)) {
            Tensor out = alloc("copy to " + device, src.dtype(), src.shape());
            upload(host, out, "copy to " + device);
            return out;
        }
    }

    /** Copies a contiguous CPU tensor's bytes into a contiguous CUDA tensor of the same size. */
    private void upload(Tensor host, Tensor dst, String op) {
        ctx.makeCurrent();
        MemorySegment seg = host.cpuSegment();
        long base = host.offset() * host.dtype().byteSize();
        long n = host.byteSize();
        long p = address(dst);
        for (long off = 0; off < n; off += COPY_CHUNK) {
            long len = Math.min(COPY_CHUNK, n - off);
            ctx.check(ctx.api.memcpyHtoD(p + off, seg.asSlice(base + off, len), len, ctx.stream), op, "cuMemcpyHtoDAsync(" + len + " bytes)");
        }
        ctx.synchronize(op);  // pageable host memory: the copy must finish before the caller may reuse it
    }

    /**
     * Copies {@code src} (CPU or this device, same shape and dtype) into the existing CUDA tensor
     * {@code dst}: how a captured graph's static inputs receive new values before a replay.
     */
    public void copyInto(Tensor src, Tensor dst) {
        if (!java.util.Arrays.equals(src.shape(), dst.shape()) || src.dtype() != dst.dtype())
            throw new IllegalArgumentException("copyInto: " + src.describe() + " does not match " + dst.describe());
        if (!dst.isContiguous()) throw new IllegalArgumentException("copyInto: destination " + dst.describe() + " must be contiguous");
        if (src.device().isCpu()) {
            try (Tensor host = src.isContiguous() ? src.share() : Backends.cpu().contiguous(src)) {
                upload(host, dst, "copyInto");
            }
        } else {
            layout.copyStrided("copyInto", src, address(dst), dst.shape(), Shapes.contiguousStrides(dst.shape()));
        }
    }

    @Override
    public Tensor toCpu(Tensor x) {
        if (x.device().isCpu()) return Backends.cpu().contiguous(x);
        try (Tensor c = x.isContiguous() ? x.share() : contiguous(x)) {
            Tensor out = Tensor.zeros(c.dtype(), c.shape());
            ctx.makeCurrent();
            MemorySegment seg = out.cpuSegment();
            long n = c.byteSize();
            long p = address(c);
            for (long off = 0; off < n; off += COPY_CHUNK) {
                long len = Math.min(COPY_CHUNK, n - off);
                ctx.check(ctx.api.memcpyDtoH(seg.asSlice(off, len), p + off, len, ctx.stream), "copy to cpu", "cuMemcpyDtoHAsync(" + len + " bytes)");
            }
            ctx.synchronize("copy to cpu of " + x.describe());
            return out;
        }
    }

    static long address(Tensor t) { return CudaTypes.address(t); }

    // ---------------------------------------------------------------- copies and casts

    @Override public Tensor contiguous(Tensor x) { return layout.contiguous(x); }

    @Override public Tensor cast(Tensor x, DType to) { return layout.cast(x, to); }

    @Override
    public Tensor full(DType dtype, float value, int... shape) {
        Tensor out = alloc("full", dtype, shape);
        long n = out.numel();
        long a = address(out);
        switch (dtype.byteSize()) {
            case 1 -> {
                ctx.makeCurrent();
                ctx.check(ctx.api.memsetD8(a, (byte) (dtype == DType.BOOL ? (value != 0 ? 1 : 0) : (int) value), n, ctx.stream),
                        "full", "cuMemsetD8Async");
            }
            case 2 -> {
                short bits = switch (dtype) {
                    case F16 -> Numbers.f32ToF16(value);
                    case BF16 -> Numbers.f32ToBf16(value);
                    default -> (short) value;
                };
                ctx.launch("full", k.get("copy", "fill_e2"), grid(n), 1, 1, 256, 0, a, n, (int) bits);
            }
            case 4 -> {
                int bits = dtype == DType.F32 ? Float.floatToRawIntBits(value) : (int) value;
                ctx.launch("full", k.get("copy", "fill_e4"), grid(n), 1, 1, 256, 0, a, n, bits);
            }
            default -> {
                long bits = dtype == DType.F64 ? Double.doubleToRawLongBits(value) : (long) value;
                ctx.launch("full", k.get("copy", "fill_e8"), grid(n), 1, 1, 256, 0, a, n, bits);
            }
        }
        return out;
    }

    /** Blocks for a grid-stride loop over n items: enough to fill the device, no more. */
    int grid(long n) {
        long blocks = (n + 255) / 256;
        return (int) Math.max(1, Math.min(blocks, (long) ctx.smCount * 16));
    }

    // ---------------------------------------------------------------- ops

    @Override public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) { return linalg.matmul(a, b, transA, transB); }

    @Override public Tensor linear(Tensor x, Tensor w, Tensor bias) { return linalg.linear(x, w, bias); }

    @Override public Tensor linearGeglu(Tensor x, Tensor w, Tensor bias) { return linalg.linearGeglu(x, w, bias); }

    @Override public Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p, Tensor residual) { return linalg.conv2d(x, w, bias, p, residual); }

    @Override public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        return norms.groupNorm(x, groups, gamma, beta, eps, silu);
    }

    @Override public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) { return norms.layerNorm(x, gamma, beta, eps); }

    @Override public Tensor softmax(Tensor x) { return norms.softmax(x); }

    @Override public Tensor unary(UnaryOp op, Tensor x) { return elementwise.unary(op, x); }

    @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b) { return elementwise.binary(op, a, b); }

    @Override public Tensor affine(Tensor x, float mul, float add) { return elementwise.affine(x, mul, add); }

    @Override public Tensor geglu(Tensor x) { return elementwise.geglu(x); }

    @Override public Tensor concat(List<Tensor> xs, int dim) { return layout.concat(xs, dim); }

    @Override public Tensor upsampleNearest2x(Tensor x) { return layout.upsampleNearest2x(x); }

    @Override public Tensor embedding(Tensor table, Tensor ids) { return layout.embedding(table, ids); }

    @Override public Tensor timestepEmbedding(Tensor t, int dim, boolean flipSinToCos, float freqShift, float maxPeriod) {
        return layout.timestepEmbedding(t, dim, flipSinToCos, freqShift, maxPeriod);
    }

    @Override public AttentionResult attention(AttentionCall call) { return attention.attention(call); }

    /** On the device for joint attention without AdaIN; else the host round trip (see {@link CudaAttentionGrad}). */
    @Override public AttentionGrads attentionBackward(AttentionCall call, Tensor dOut, Tensor dMaps) {
        return attentionGrad.backward(call, dOut, dMaps);
    }

    // ---------------------------------------------------------------- reverse-mode primitives (grad.cu)

    @Override public Tensor sumToShape(Tensor x, int... shape) { return grad.sumToShape(x, shape); }

    @Override public Tensor unaryBackward(UnaryOp op, Tensor x, Tensor dy) { return grad.unaryBackward(op, x, dy); }

    @Override public NormGrads groupNormBackward(Tensor x, Tensor dy, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        return grad.groupNormBackward(x, dy, groups, gamma, beta, eps, silu);
    }

    @Override public Tensor im2col(Tensor x, int kh, int kw, Conv2dParams p) { return grad.im2col(x, kh, kw, p); }

    @Override public Tensor col2im(Tensor cols, int[] inputShape, int kh, int kw, Conv2dParams p) {
        return grad.col2im(cols, inputShape, kh, kw, p);
    }

    @Override public Tensor embeddingBackward(Tensor dy, Tensor ids, int rows) { return grad.embeddingBackward(dy, ids, rows); }

    @Override public Tensor selectsFirst(BinaryOp op, Tensor a, Tensor b) { return grad.selectsFirst(op, a, b); }

    // ---------------------------------------------------------------- CUDA graphs

    /**
     * Records every op that {@code step} queues into a CUDA graph instead of running them, and
     * returns the graph for {@link CudaGraph#replay() replay}. Run {@code step} once uncaptured first
     * (warm-up: loads kernels, fills the allocator's cache). Tensors the step allocates belong to the
     * graph's private memory pool: each replay rewrites them in place (the step's outputs are static
     * tensors; read them after a replay). Inputs are static too: keep them alive while the graph
     * lives and change their values with {@link #copyInto}. Host copies cannot be captured.
     */
    public CudaGraph capture(Runnable step) {
        CudaGraph g = CudaGraph.capture(this, step);
        captures.incrementAndGet();
        return g;
    }

    /** Graphs captured so far by this backend (how a pipeline test tells that replay was used). */
    public long graphCaptures() { return captures.get(); }

    // ---------------------------------------------------------------- helpers for the op classes

    /** x itself (shared) when already of dtype {@code t}, else a cast copy. The caller closes it. */
    Tensor as(Tensor x, DType t) {
        requireHere(x);
        return x.dtype() == t ? x.share() : layout.cast(x, t);
    }

    /** x (shared) when contiguous, else a contiguous copy, of dtype t. The caller closes it. */
    Tensor contiguousAs(Tensor x, DType t) {
        requireHere(x);
        if (x.dtype() != t) return layout.cast(x, t);
        return x.isContiguous() ? x.share() : layout.contiguous(x);
    }

    void requireHere(Tensor x) {
        if (x != null && !x.device().equals(device))
            throw new IllegalArgumentException("tensor " + x + " is not on " + device + "; copy it with Ops.to(x, " + device + ")");
    }

    CudaLayout layout() { return layout; }
}
