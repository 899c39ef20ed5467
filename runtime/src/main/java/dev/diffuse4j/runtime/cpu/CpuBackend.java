package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
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
import dev.diffuse4j.runtime.cpu.grad.EmbeddingGrad;
import dev.diffuse4j.runtime.cpu.grad.NormGrad;
import dev.diffuse4j.runtime.cpu.grad.Patches;
import dev.diffuse4j.runtime.cpu.grad.SumToShape;
import dev.diffuse4j.runtime.cpu.grad.UnaryGrad;

import java.util.List;

/**
 * The reference backend: exact F32 arithmetic on host memory, vectorised with the Vector API and
 * spread over {@link Parallel}'s cores. Each op family lives in its own class and computes an F32
 * result; F16/BF16 activations are then rounded to their storage type once per op, exactly where the
 * GPU stores them, so a half-precision model runs here too (half the activation memory, and its
 * rounding error measurable against the F32 run).
 */
public final class CpuBackend implements Backend {
    public static final CpuBackend INSTANCE = new CpuBackend();

    private CpuBackend() {}

    @Override public Device device() { return Device.CPU; }

    @Override public Tensor empty(DType dtype, int... shape) { return Tensor.zeros(dtype, shape); }

    @Override public Tensor copyFrom(Tensor src) {
        if (!src.device().isCpu()) return Backends.of(src.device()).toCpu(src);  // the device backend reads its own memory
        return Copy.contiguousCopy(src);
    }

    @Override public Tensor contiguous(Tensor x) { return Copy.contiguousCopy(x); }

    @Override public Tensor cast(Tensor x, DType to) { return Copy.cast(x, to); }

    @Override public Tensor full(DType dtype, float value, int... shape) { return Copy.full(dtype, value, shape); }

    @Override public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        return stored(Gemm.matmul(a, b, transA, transB), DType.promote(a.dtype(), b.dtype()));
    }

    @Override public Tensor linear(Tensor x, Tensor w, Tensor bias) { return stored(Gemm.linear(x, w, bias), x.dtype()); }

    @Override public Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p, Tensor residual) {
        return stored(Conv.conv2d(x, w, bias, p, residual), x.dtype());
    }

    @Override public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        return stored(Norms.groupNorm(x, groups, gamma, beta, eps, silu), x.dtype());
    }

    @Override public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) { return stored(Norms.layerNorm(x, gamma, beta, eps), x.dtype()); }

    @Override public Tensor softmax(Tensor x) { return stored(Norms.softmax(x), x.dtype()); }

    @Override public Tensor unary(UnaryOp op, Tensor x) { return stored(Elementwise.unary(op, x), x.dtype()); }

    @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b) { return stored(Elementwise.binary(op, a, b), DType.promote(a.dtype(), b.dtype())); }

    @Override public Tensor affine(Tensor x, float mul, float add) { return stored(Elementwise.affine(x, mul, add), x.dtype()); }

    @Override public Tensor geglu(Tensor x) { return stored(Elementwise.geglu(x), x.dtype()); }

    @Override public Tensor concat(List<Tensor> xs, int dim) { return Layout.concat(xs, dim); }

    @Override public Tensor upsampleNearest2x(Tensor x) { return stored(Layout.upsampleNearest2x(x), x.dtype()); }

    @Override public Tensor embedding(Tensor table, Tensor ids) { return stored(Layout.embedding(table, ids), table.dtype()); }

    @Override public Tensor timestepEmbedding(Tensor t, int dim, boolean flipSinToCos, float freqShift, float maxPeriod) {
        return stored(Layout.timestepEmbedding(t, dim, flipSinToCos, freqShift, maxPeriod), t.dtype());
    }

    @Override public AttentionResult attention(AttentionCall call) {
        AttentionResult r = CpuAttention.attention(call);
        return new AttentionResult(stored(r.out(), call.q().dtype()), r.maps());
    }

    @Override public AttentionGrads attentionBackward(AttentionCall call, Tensor dOut, Tensor dMaps) {
        return CpuAttentionBackward.backward(call, dOut, dMaps);
    }

    /**
     * The result in the storage type of the op's contract (see {@link Backend}): the F32 result
     * itself, or its rounding to F16/BF16 (integer inputs, e.g. timestep ids, give F32).
     */
    private static Tensor stored(Tensor f32, DType t) {
        if (!t.isFloating() || t == DType.F64 || f32.dtype() == t) return f32;
        try (f32) {
            return Copy.cast(f32, t);
        }
    }

    // ---------------------------------------------------------------- reverse-mode primitives (cpu/grad)

    @Override public Tensor sumToShape(Tensor x, int... shape) { return SumToShape.sumToShape(x, shape); }

    @Override public Tensor unaryBackward(UnaryOp op, Tensor x, Tensor dy) { return UnaryGrad.unaryBackward(op, x, dy); }

    @Override public NormGrads groupNormBackward(Tensor x, Tensor dy, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        return NormGrad.groupNormBackward(x, dy, groups, gamma, beta, eps, silu);
    }

    @Override public Tensor im2col(Tensor x, int kh, int kw, Conv2dParams p) { return Patches.im2col(x, kh, kw, p); }

    @Override public Tensor col2im(Tensor cols, int[] inputShape, int kh, int kw, Conv2dParams p) { return Patches.col2im(cols, inputShape, kh, kw, p); }

    @Override public Tensor embeddingBackward(Tensor dy, Tensor ids, int rows) { return EmbeddingGrad.embeddingBackward(dy, ids, rows); }

    @Override public Tensor selectsFirst(BinaryOp op, Tensor a, Tensor b) { return EmbeddingGrad.selectsFirst(op, a, b); }
}
