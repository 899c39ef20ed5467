package dev.diffuse4j.runtime.cpu.grad;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cpu.Parallel;
import dev.diffuse4j.runtime.ops.UnaryOp;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** dy * f'(x) for every {@link UnaryOp}, in double per element (scalar code: backward is not the hot path). */
public final class UnaryGrad {
    private UnaryGrad() {}

    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
    private static final double INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

    public static Tensor unaryBackward(UnaryOp op, Tensor x, Tensor dy) {
        if (!Arrays.equals(x.shape(), dy.shape()))
            throw new IllegalArgumentException("unaryBackward(" + op + "): x " + x.describe() + " and dy " + dy.describe() + " differ in shape");
        Tensor out = Tensor.zeros(DType.F32, x.shape());
        int n = Math.toIntExact(x.numel());
        try (HostF32 xs = new HostF32("unaryBackward", "x", x); HostF32 ds = new HostF32("unaryBackward", "dy", dy)) {
            MemorySegment os = out.cpuSegment();
            Parallel.forRange(n, 1 << 13, (lo, hi) -> {
                for (int i = lo; i < hi; i++) os.set(HostF32.F, 4L * i, (float) (ds.get(i) * derivative(op, xs.get(i))));
            });
        }
        return out;
    }

    /** f'(x). */
    public static double derivative(UnaryOp op, double x) {
        return switch (op) {
            case SILU -> { double s = sigmoid(x); yield s * (1 + x * (1 - s)); }
            case GELU_ERF -> 0.5 * (1 + Erf.erf(x / Math.sqrt(2))) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
            case GELU_TANH -> {
                double u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
                double t = Math.tanh(u);
                yield 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
            }
            case QUICK_GELU -> { double s = sigmoid(1.702 * x); yield s + 1.702 * x * s * (1 - s); }
            case SIGMOID -> { double s = sigmoid(x); yield s * (1 - s); }
            case EXP -> Math.exp(x);
            case NEG -> -1;
            case SQRT -> 0.5 / Math.sqrt(x);
            case SQUARE -> 2 * x;
        };
    }

    static double sigmoid(double x) { return 1 / (1 + Math.exp(-x)); }
}
