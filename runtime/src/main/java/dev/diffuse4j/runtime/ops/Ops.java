package dev.diffuse4j.runtime.ops;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.autograd.Recorder;
import dev.diffuse4j.runtime.autograd.Tape;

import java.util.Arrays;
import java.util.List;

/**
 * The functional face of the runtime: each op runs on the backend of its first tensor's device.
 * Model code reads like the architecture: {@code Ops.silu(Ops.groupNorm(x, 32, g, b, 1e-5f))}.
 * Each op hands its result to {@link Recorder}, which records it when a
 * {@link dev.diffuse4j.runtime.autograd.Tape} is open on this thread and an input is tracked (else a
 * thread-local read and nothing more).
 */
public final class Ops {
    private Ops() {}

    static Backend on(Tensor t) { return Backends.of(t.device()); }

    static Backend on(String op, Tensor... ts) {
        Device d = null;
        for (Tensor t : ts) {
            if (t == null) continue;
            if (d == null) d = t.device();
            else if (!d.equals(t.device()))
                throw new IllegalArgumentException(op + ": tensors are on different devices (" + d + " and " + t.device() + ")");
        }
        return Backends.of(d == null ? Device.CPU : d);
    }

    public static Tensor contiguous(Tensor x) { return Recorder.copy("contiguous", on(x).contiguous(x), x); }

    public static Tensor cast(Tensor x, DType to) { return Recorder.copy("cast", on(x).cast(x, to), x); }

    public static Tensor to(Tensor x, Device d) { return Recorder.copy("to", Backends.of(d).copyFrom(x), x); }

    public static Tensor full(Device d, DType dt, float v, int... shape) { return Backends.of(d).full(dt, v, shape); }

    public static Tensor matmul(Tensor a, Tensor b) { return matmul(a, b, false, false); }

    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        return Recorder.matmul(on("matmul", a, b).matmul(a, b, transA, transB), a, b, transA, transB);
    }

    public static Tensor linear(Tensor x, Tensor w, Tensor bias) { return Recorder.linear(on("linear", x, w, bias).linear(x, w, bias), x, w, bias); }

    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p) { return conv2d(x, w, bias, p, null); }

    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p, Tensor residual) {
        return Recorder.conv2d(on("conv2d", x, w, bias, residual).conv2d(x, w, bias, p, residual), x, w, bias, p, residual);
    }

    public static Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        return Recorder.groupNorm(on("groupNorm", x, gamma, beta).groupNorm(x, groups, gamma, beta, eps, false), x, groups, gamma, beta, eps, false);
    }

    public static Tensor groupNormSilu(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        return Recorder.groupNorm(on("groupNorm", x, gamma, beta).groupNorm(x, groups, gamma, beta, eps, true), x, groups, gamma, beta, eps, true);
    }

    public static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        return Recorder.layerNorm(on("layerNorm", x, gamma, beta).layerNorm(x, gamma, beta, eps), x, gamma, beta, eps);
    }

    public static Tensor softmax(Tensor x) { return Recorder.softmax(on(x).softmax(x), x); }

    public static Tensor silu(Tensor x) { return unary(UnaryOp.SILU, x); }

    public static Tensor gelu(Tensor x) { return unary(UnaryOp.GELU_ERF, x); }

    public static Tensor geluTanh(Tensor x) { return unary(UnaryOp.GELU_TANH, x); }

    public static Tensor quickGelu(Tensor x) { return unary(UnaryOp.QUICK_GELU, x); }

    public static Tensor unary(UnaryOp op, Tensor x) { return Recorder.unary(on(x).unary(op, x), op, x); }

    public static Tensor geglu(Tensor x) { return Recorder.geglu(on(x).geglu(x), x); }

    /** geglu(linear(x, w, bias)), fused where the backend can; on a gradient tape the two ops are recorded. */
    public static Tensor linearGeglu(Tensor x, Tensor w, Tensor bias) {
        if (Tape.current() != null) {
            try (Tensor h = linear(x, w, bias)) {
                return geglu(h);
            }
        }
        return on("linearGeglu", x, w, bias).linearGeglu(x, w, bias);
    }

    public static Tensor add(Tensor a, Tensor b) { return binary(BinaryOp.ADD, a, b); }

    public static Tensor sub(Tensor a, Tensor b) { return binary(BinaryOp.SUB, a, b); }

    public static Tensor mul(Tensor a, Tensor b) { return binary(BinaryOp.MUL, a, b); }

    public static Tensor div(Tensor a, Tensor b) { return binary(BinaryOp.DIV, a, b); }

    public static Tensor binary(BinaryOp op, Tensor a, Tensor b) { return Recorder.binary(on(op.name().toLowerCase(), a, b).binary(op, a, b), op, a, b); }

    public static Tensor scale(Tensor x, float s) { return affine(x, s, 0f); }

    public static Tensor affine(Tensor x, float mul, float add) { return Recorder.affine(on(x).affine(x, mul, add), x, mul); }

    public static Tensor concat(int dim, Tensor... xs) { return concat(Arrays.asList(xs), dim); }

    public static Tensor concat(List<Tensor> xs, int dim) {
        if (xs.isEmpty()) throw new IllegalArgumentException("concat: no tensors");
        return Recorder.concat(on("concat", xs.toArray(Tensor[]::new)).concat(xs, dim), xs, dim);
    }

    public static Tensor upsampleNearest2x(Tensor x) { return Recorder.upsampleNearest2x(on(x).upsampleNearest2x(x), x); }

    public static Tensor embedding(Tensor table, Tensor ids) { return Recorder.embedding(on(table).embedding(table, ids), table, ids); }

    public static Tensor timestepEmbedding(Tensor t, int dim, boolean flipSinToCos, float freqShift) {
        return Recorder.timestepEmbedding(on(t).timestepEmbedding(t, dim, flipSinToCos, freqShift, 10000f), t);
    }

    public static AttentionResult attention(AttentionCall call) {
        Tensor[] ts = new Tensor[1 + 2 * call.segments().size()];
        ts[0] = call.q();
        for (int i = 0; i < call.segments().size(); i++) {
            ts[1 + 2 * i] = call.segments().get(i).k();
            ts[2 + 2 * i] = call.segments().get(i).v();
        }
        return Recorder.attention(on("attention", ts).attention(call), call);
    }

    /** Plain multi-head attention: softmax(Q K^T / sqrt(D)) V per head. */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, int heads) {
        return attention(AttentionCall.plain(q, k, v, heads)).out();
    }
}
