package dev.diffuse4j.runtime.ops;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Tensor;

import java.util.List;

/**
 * The ops SPI (DESIGN §2): every op the models need, with the same semantics on every backend.
 * Activations are channels-last (NHWC; [B, N, C] for token sequences). Every op returns a new
 * contiguous tensor that the caller (or its {@link dev.diffuse4j.runtime.Scope}) owns; inputs may be
 * any strided view. Float inputs may be F32/F16/BF16 and arithmetic is F32 everywhere; the result's
 * storage type is the same on every backend: the input's dtype for single-input ops and for
 * linear/conv2d/norms (weights are read at any float dtype), {@link DType#promote} over the operands
 * for matmul, binary ops and concat, the table's for embedding, q's for attention (maps are F32), and
 * F32 for the reverse-mode primitives. So F16 activations stay F16 (rounded once per op, as the GPU
 * stores them) and F32 activations stay F32.
 * Shape and dtype errors throw {@link IllegalArgumentException} naming the op and the shapes.
 */
public interface Backend {
    Device device();

    /** Uninitialised contiguous tensor on this device. */
    Tensor empty(DType dtype, int... shape);

    /** Copies a tensor from any device into a new contiguous tensor on this one. */
    Tensor copyFrom(Tensor src);

    /**
     * Copies one of this backend's tensors into a new contiguous CPU tensor (same dtype), waiting
     * for the work that produces it. The CPU backend's {@link #copyFrom} calls this on the source's
     * backend, so {@code Ops.to(x, Device.CPU)} works for every device.
     */
    default Tensor toCpu(Tensor x) {
        if (!x.device().isCpu()) throw new IllegalStateException(device() + " backend cannot copy " + x + " to the host");
        return contiguous(x);
    }

    /** Contiguous copy (same dtype). */
    Tensor contiguous(Tensor x);

    /** Converts to another dtype (F32/F16/BF16/F64 and integer types). */
    Tensor cast(Tensor x, DType to);

    /** Tensor of the given shape filled with a value. */
    Tensor full(DType dtype, float value, int... shape);

    // ---------------------------------------------------------------- linear algebra

    /**
     * Batched matrix product: a [..., M, K] (or [..., K, M] when transA), b [..., K, N] (or [..., N, K]
     * when transB); batch dims broadcast. Result [..., M, N].
     */
    Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB);

    /** y = x W^T + bias: x [..., in], w [out, in] (F32/F16/BF16), bias [out] or null. */
    Tensor linear(Tensor x, Tensor w, Tensor bias);

    /**
     * 2-D convolution, NHWC: x [B, H, W, Cin], w [Cout, kh, kw, Cin] (checkpoint OIHW weights are
     * re-laid once at load), bias [Cout] or null; residual [B, Ho, Wo, Cout] or null is added to the
     * result (fused skip connection).
     */
    Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p, Tensor residual);

    // ---------------------------------------------------------------- normalisation

    /**
     * GroupNorm over channels-last x [B, ..., C]: statistics per (item, group) over every position and
     * the group's C/groups channels (biased variance), then per-channel affine; optional fused SiLU.
     */
    Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu);

    /** LayerNorm over the last dimension with affine gamma/beta (either may be null). */
    Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps);

    /** Softmax over the last dimension. */
    Tensor softmax(Tensor x);

    // ---------------------------------------------------------------- elementwise

    Tensor unary(UnaryOp op, Tensor x);

    /** Broadcasting elementwise op. */
    Tensor binary(BinaryOp op, Tensor a, Tensor b);

    /** x * mul + add, elementwise. */
    Tensor affine(Tensor x, float mul, float add);

    /** GEGLU: x [..., 2n] split into value (first half) and gate (second half): value * gelu_erf(gate). */
    Tensor geglu(Tensor x);

    /**
     * geglu(linear(x, w, bias)): the FF1 projection of a transformer block and its activation. A
     * backend may fuse them (CUDA does, in the GEMM's epilogue, never storing the [..., 2n] projection).
     */
    default Tensor linearGeglu(Tensor x, Tensor w, Tensor bias) {
        try (Tensor h = linear(x, w, bias)) {
            return geglu(h);
        }
    }

    // ---------------------------------------------------------------- data movement

    /** Concatenation along {@code dim}; every other dimension must agree. */
    Tensor concat(List<Tensor> xs, int dim);

    /** Nearest-neighbour 2x upsampling of NHWC x [B, H, W, C] -> [B, 2H, 2W, C]. */
    Tensor upsampleNearest2x(Tensor x);

    /** Rows of {@code table} [V, D] picked by integer {@code ids} [...] -> [..., D]; out-of-range ids are an error. */
    Tensor embedding(Tensor table, Tensor ids);

    /**
     * Sinusoidal timestep embedding of t [B] (float): freq_i = exp(-ln(maxPeriod) * i / (half - freqShift)),
     * result [B, dim] = [sin(t f) | cos(t f)], or [cos | sin] when flipSinToCos.
     */
    Tensor timestepEmbedding(Tensor t, int dim, boolean flipSinToCos, float freqShift, float maxPeriod);

    // ---------------------------------------------------------------- attention

    /** The attention op of DESIGN §3. */
    AttentionResult attention(AttentionCall call);

    /**
     * Reverse mode of {@link #attention}: given the gradient of the loss with respect to the op's output
     * ({@code dOut}, [B, Nq, H*D], or null) and to its captured head-averaged map ({@code dMaps},
     * [B, Nq, Nk_j] of the call's capture segment, or null), returns the gradients with respect to the
     * queries and every segment's keys and values. Recomputes what it needs from the call's inputs.
     */
    AttentionGrads attentionBackward(AttentionCall call, Tensor dOut, Tensor dMaps);

    // ---------------------------------------------------------------- reverse-mode primitives (runtime.autograd)
    // The defaults run on the host: copy the inputs to the CPU, compute there, copy the result back.
    // The CPU backend overrides every one; a GPU backend uses them until it has kernels of its own.

    /**
     * Sums {@code x} down to {@code shape}, the shape of a tensor that broadcast to x's shape: leading
     * dimensions x has in excess and dimensions where {@code shape} is 1 are summed. Result F32.
     */
    default Tensor sumToShape(Tensor x, int... shape) {
        try (Tensor hx = toCpu(x); Tensor r = Backends.cpu().sumToShape(hx, shape)) { return copyFrom(r); }
    }

    /** dy * f'(x) for the elementwise function {@code op}, elementwise (x and dy of one shape). */
    default Tensor unaryBackward(UnaryOp op, Tensor x, Tensor dy) {
        try (Tensor hx = toCpu(x); Tensor hd = toCpu(dy); Tensor r = Backends.cpu().unaryBackward(op, hx, hd)) { return copyFrom(r); }
    }

    /**
     * Reverse mode of {@link #groupNorm} (LayerNorm is the case of one group over [rows, 1, C]): given
     * dy, the gradients with respect to x, gamma and beta (null where gamma/beta are null).
     */
    default NormGrads groupNormBackward(Tensor x, Tensor dy, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        try (Tensor hx = toCpu(x); Tensor hd = toCpu(dy); Tensor hg = gamma == null ? null : toCpu(gamma);
             Tensor hb = beta == null ? null : toCpu(beta)) {
            NormGrads r = Backends.cpu().groupNormBackward(hx, hd, groups, hg, hb, eps, silu);
            try (Tensor dx = r.dx(); Tensor dg = r.dGamma(); Tensor db = r.dBeta()) {
                return new NormGrads(copyFrom(dx), dg == null ? null : copyFrom(dg), db == null ? null : copyFrom(db));
            }
        }
    }

    /**
     * Patches of NHWC x [B, H, W, C] for a kh x kw convolution with params p, as rows
     * [B*Ho*Wo, kh*kw*C] in (ky, kx, c) order (zeros where the window leaves the input): conv2d is
     * then {@code cols · W^T} with W [Cout, kh*kw*C], and its weight gradient {@code dy^T · cols}.
     */
    default Tensor im2col(Tensor x, int kh, int kw, Conv2dParams p) {
        try (Tensor hx = toCpu(x); Tensor r = Backends.cpu().im2col(hx, kh, kw, p)) { return copyFrom(r); }
    }

    /** Adjoint of {@link #im2col}: sums the patch rows cols [B*Ho*Wo, kh*kw*C] back into an input-shaped [B, H, W, C]. */
    default Tensor col2im(Tensor cols, int[] inputShape, int kh, int kw, Conv2dParams p) {
        try (Tensor hc = toCpu(cols); Tensor r = Backends.cpu().col2im(hc, inputShape, kh, kw, p)) { return copyFrom(r); }
    }

    /** Adjoint of {@link #embedding}: [rows, D] where row r sums the dy rows [..., D] whose id is r. */
    default Tensor embeddingBackward(Tensor dy, Tensor ids, int rows) {
        try (Tensor hd = toCpu(dy); Tensor hi = toCpu(ids); Tensor r = Backends.cpu().embeddingBackward(hd, hi, rows)) { return copyFrom(r); }
    }

    /** For MAX/MIN: 1 where {@code a} is the chosen operand (ties go to a), else 0, in the broadcast shape. */
    default Tensor selectsFirst(BinaryOp op, Tensor a, Tensor b) {
        try (Tensor ha = toCpu(a); Tensor hb = toCpu(b); Tensor r = Backends.cpu().selectsFirst(op, ha, hb)) { return copyFrom(r); }
    }
}
