package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cpu.OpsCheck.Layout;
import dev.diffuse4j.runtime.ops.BinaryOp;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.runtime.ops.UnaryOp;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.DoubleBinaryOperator;

import static dev.diffuse4j.runtime.cpu.OpsCheck.assertClose;
import static dev.diffuse4j.runtime.cpu.OpsCheck.held;
import static dev.diffuse4j.runtime.cpu.OpsCheck.make;
import static dev.diffuse4j.runtime.cpu.OpsCheck.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ElementwiseTest {
    private static final int[][] SHAPES = {{1}, {3}, {7}, {33}, {130}, {2, 77}, {3, 5, 7}, {2, 9, 11, 17}, {1, 1, 40_000}};

    static double reference(UnaryOp op, double x) {
        return switch (op) {
            case SILU -> x * OpsCheck.sigmoid(x);
            case GELU_ERF -> OpsCheck.geluErf(x);
            case GELU_TANH -> OpsCheck.geluTanh(x);
            case QUICK_GELU -> x * OpsCheck.sigmoid(1.702 * x);
            case SIGMOID -> OpsCheck.sigmoid(x);
            case EXP -> Math.exp(x);
            case NEG -> -x;
            case SQRT -> Math.sqrt(x);
            case SQUARE -> x * x;
        };
    }

    /** Inputs that exercise each function's whole useful range. */
    static float[] inputs(UnaryOp op, Random r, int n) {
        float[] v = randn(r, n, op == UnaryOp.EXP ? 8 : 4);
        if (op == UnaryOp.SQRT) for (int i = 0; i < n; i++) v[i] = Math.abs(v[i]) * 10;
        return v;
    }

    @Test
    void unaryOpsMatchFloat64OnEveryLayoutAndDtype() {
        Random r = OpsCheck.random("unary");
        for (UnaryOp op : UnaryOp.values())
            for (int[] shape : SHAPES)
                for (DType dt : new DType[]{DType.F32, DType.F16, DType.BF16})
                    for (Layout layout : Layout.values()) {
                        try (Scope s = Scope.open()) {
                            int n = (int) OpsCheck.numel(shape);
                            Tensor x = make(inputs(op, r, n), dt, layout, shape);
                            double[] in = held(x);
                            double[] ref = new double[n];
                            for (int i = 0; i < n; i++) ref[i] = reference(op, in[i]);
                            Tensor y = Elementwise.unary(op, x); // F32 result (Ops rounds half inputs: HalfStorageTest)
                            assertEquals(DType.F32, y.dtype());
                            assertArrayEquals(shape, y.shape());
                            assertTrue(y.isContiguous());
                            assertClose(op + " " + dt + " " + layout + OpsCheck.str(shape), ref, y.toFloatArray(), 1e-6, 4e-6);
                        }
                    }
    }

    @Test
    void unaryOpsHandleExtremesAndSpecialValues() {
        float[] v = {0f, -0f, 1e-30f, -1e-30f, 20f, -20f, 80f, -80f, 88f, -88f, 89f, -89f, 100f, -100f, 1e4f, -1e4f,
                Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 0.5f, -0.5f};
        try (Scope s = Scope.open()) {
            Tensor x = make(v, v.length);
            for (UnaryOp op : new UnaryOp[]{UnaryOp.SILU, UnaryOp.SIGMOID, UnaryOp.QUICK_GELU, UnaryOp.GELU_ERF, UnaryOp.GELU_TANH, UnaryOp.EXP}) {
                float[] got = Ops.unary(op, x).toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    double ref = reference(op, v[i]);
                    if (Double.isNaN(ref)) {
                        assertTrue(Float.isNaN(got[i]), op + "(" + v[i] + ") = " + got[i] + ", expected NaN");
                        continue;
                    }
                    // float64 references of finite inputs can overflow float: compare in float. Results
                    // below 1e-35 in magnitude may flush to zero (exp of arguments below -87 is 0).
                    float expect = (float) ref;
                    double err = Math.abs(got[i] - expect);
                    boolean ok = got[i] == expect || err <= 4e-6 * Math.abs(expect) || err < 1e-35;
                    assertTrue(ok, op + "(" + v[i] + ") = " + got[i] + ", expected " + expect);
                }
            }
        }
    }

    @Test
    void geluErfIsRelativelyAccurateInTheNegativeTail() {
        // Phi(x) is computed through erfc, so x * Phi(x) keeps relative accuracy where 1 + erf(x/sqrt2) would cancel.
        int n = 4001;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = -12f + 12f * i / (n - 1);
        try (Scope s = Scope.open()) {
            float[] got = Ops.gelu(make(v, n)).toFloatArray();
            for (int i = 0; i < n; i++) {
                double ref = OpsCheck.geluErf(v[i]);
                if (Math.abs(ref) < 1e-30) continue;
                assertTrue(Math.abs(got[i] - ref) <= 2e-5 * Math.abs(ref), "gelu(" + v[i] + ") = " + got[i] + ", expected " + ref);
            }
        }
    }

    @Test
    void affineIsXTimesMulPlusAdd() {
        Random r = OpsCheck.random("affine");
        for (int[] shape : SHAPES)
            for (Layout layout : Layout.values())
                try (Scope s = Scope.open()) {
                    int n = (int) OpsCheck.numel(shape);
                    Tensor x = make(randn(r, n, 3), DType.BF16, layout, shape);
                    double[] in = held(x);
                    float mul = (float) r.nextGaussian(), add = (float) r.nextGaussian();
                    double[] ref = new double[n];
                    for (int i = 0; i < n; i++) ref[i] = in[i] * mul + add;
                    assertClose("affine " + layout + OpsCheck.str(shape), ref, Elementwise.affine(x, mul, add).toFloatArray(), 1e-7, 1e-6);
                }
    }

    // ---------------------------------------------------------------- binary

    static DoubleBinaryOperator reference(BinaryOp op) {
        return switch (op) {
            case ADD -> Double::sum;
            case SUB -> (a, b) -> a - b;
            case MUL -> (a, b) -> a * b;
            case DIV -> (a, b) -> a / b;
            case MAX -> Math::max;
            case MIN -> Math::min;
        };
    }

    /** Pairs of shapes that broadcast: same shape, scalar, row, column, middle dims, per-item channel vectors, both sides. */
    private static final int[][][] BROADCASTS = {
            {{7}, {7}}, {{3, 33}, {3, 33}}, {{2, 5, 7, 3}, {2, 5, 7, 3}},
            {{130}, {1}}, {{1}, {130}}, {{4, 9}, {}}, {{}, {4, 9}},
            {{5, 33}, {33}}, {{33}, {5, 33}}, {{2, 3, 4, 40}, {40}},
            {{6, 7}, {6, 1}}, {{6, 1}, {6, 7}},
            {{2, 3, 5, 77}, {2, 1, 1, 77}}, {{2, 1, 1, 77}, {2, 3, 5, 77}},
            {{3, 1, 5}, {1, 4, 1}}, {{2, 3, 4, 5}, {3, 1, 5}}, {{4, 1, 6}, {4, 7, 1}},
            {{1, 1}, {1, 1}}, {{2, 8, 16, 320}, {2, 1, 1, 320}}
    };

    @Test
    void binaryOpsBroadcastLikeNumpy() {
        Random r = OpsCheck.random("binary");
        for (BinaryOp op : BinaryOp.values())
            for (int[][] pair : BROADCASTS)
                for (Layout la : Layout.values()) {
                    Layout lb = Layout.values()[r.nextInt(Layout.values().length)];
                    DType da = r.nextInt(4) == 0 ? DType.F16 : DType.F32, db = r.nextInt(4) == 0 ? DType.BF16 : DType.F32;
                    checkBinary(op, pair[0], pair[1], da, la, db, lb, r);
                }
    }

    private static void checkBinary(BinaryOp op, int[] sa, int[] sb, DType da, Layout la, DType db, Layout lb, Random r) {
        try (Scope s = Scope.open()) {
            float[] av = randn(r, (int) OpsCheck.numel(sa), 2), bv = randn(r, (int) OpsCheck.numel(sb), 2);
            if (op == BinaryOp.DIV) for (int i = 0; i < bv.length; i++) bv[i] += Math.copySign(0.5f, bv[i]);
            Tensor a = make(av, da, la, sa), b = make(bv, db, lb, sb);
            double[] ha = held(a), hb = held(b);
            int[] out = dev.diffuse4j.runtime.Shapes.broadcast("test", sa, sb);
            int n = (int) OpsCheck.numel(out);
            double[] ref = new double[n];
            DoubleBinaryOperator f = reference(op);
            for (int i = 0; i < n; i++) ref[i] = f.applyAsDouble(ha[index(i, out, sa)], hb[index(i, out, sb)]);
            Tensor y = Ops.binary(op, a, b);
            assertArrayEquals(out, y.shape(), op + " shape");
            String what = op + " " + da + la + OpsCheck.str(sa) + " " + db + lb + OpsCheck.str(sb);
            assertClose(what, ref, y.toFloatArray(), 1e-7, 1.2e-7);
        }
    }

    /** Flat index into a tensor of shape {@code s} broadcast to {@code out}, for flat output index {@code i}. */
    static int index(int i, int[] out, int[] s) {
        int idx = 0, mul = 1;
        for (int d = out.length - 1; d >= 0; d--) {
            int o = i % out[d];
            i /= out[d];
            int sd = d - (out.length - s.length);
            if (sd >= 0) {
                if (s[sd] != 1) idx += o * mul;
                mul *= s[sd];
            }
        }
        return idx;
    }

    @Test
    void maxAndMinPropagateNaN() {
        try (Scope s = Scope.open()) {
            Tensor a = make(new float[]{Float.NaN, 1f, 2f}, 3), b = make(new float[]{0f, Float.NaN, 1f}, 3);
            float[] mx = Ops.binary(BinaryOp.MAX, a, b).toFloatArray(), mn = Ops.binary(BinaryOp.MIN, a, b).toFloatArray();
            assertTrue(Float.isNaN(mx[0]) && Float.isNaN(mx[1]) && mx[2] == 2f);
            assertTrue(Float.isNaN(mn[0]) && Float.isNaN(mn[1]) && mn[2] == 1f);
        }
    }

    @Test
    void binaryErrorsNameTheOpAndShapes() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.zeros(2, 3), b = Tensor.zeros(4), ids = Tensor.ofInts(new int[]{1, 2, 3}, 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.add(a, b));
            assertTrue(e.getMessage().contains("add") && e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Ops.mul(a, ids));
            assertTrue(e.getMessage().contains("mul") && e.getMessage().contains("I32[3]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Ops.silu(ids));
            assertTrue(e.getMessage().contains("SILU") && e.getMessage().contains("I32[3]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Ops.geglu(Tensor.zeros(2, 7)));
            assertTrue(e.getMessage().contains("geglu") && e.getMessage().contains("F32[2, 7]"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------- GEGLU

    @Test
    void gegluIsValueTimesGeluOfGate() {
        Random r = OpsCheck.random("geglu");
        int[][] shapes = {{2}, {6}, {3, 66}, {2, 7, 260}, {1, 4, 2 * 1280}};
        for (int[] shape : shapes)
            for (DType dt : new DType[]{DType.F32, DType.F16})
                for (Layout layout : Layout.values())
                    try (Scope s = Scope.open()) {
                        int n = (int) OpsCheck.numel(shape), half = shape[shape.length - 1] / 2;
                        Tensor x = make(randn(r, n, 2), dt, layout, shape);
                        double[] in = held(x);
                        double[] ref = new double[n / 2];
                        for (int row = 0; row < n / (2 * half); row++)
                            for (int j = 0; j < half; j++)
                                ref[row * half + j] = in[row * 2 * half + j] * OpsCheck.geluErf(in[row * 2 * half + half + j]);
                        Tensor y = Elementwise.geglu(x);
                        int[] expect = shape.clone();
                        expect[expect.length - 1] = half;
                        assertArrayEquals(expect, y.shape());
                        assertClose("geglu " + dt + layout + OpsCheck.str(shape), ref, y.toFloatArray(), 1e-6, 4e-6);
                    }
    }
}
