package dev.diffuse4j.runtime.autograd;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.BinaryOp;
import dev.diffuse4j.runtime.ops.Conv2dParams;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.runtime.ops.UnaryOp;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static dev.diffuse4j.runtime.autograd.GradCheck.check;

/** Finite-difference checks of every op's backward rule against float64 reference forwards. */
class OpGradientsTest {
    private final Random rnd = new Random(7);

    private Nd r(int... shape) { return Nd.random(rnd, shape); }

    @Test
    void matmulAllTransposesAndBroadcastBatches() {
        for (boolean ta : new boolean[]{false, true})
            for (boolean tb : new boolean[]{false, true}) {
                Nd a = ta ? r(2, 1, 4, 3) : r(2, 1, 3, 4), b = tb ? r(3, 5, 4) : r(3, 4, 5);
                check("matmul " + ta + " " + tb, List.of(a, b), in -> RefOps.matmul(in.get(0), in.get(1), ta, tb),
                        t -> Ops.matmul(t.get(0), t.get(1), ta, tb));
            }
        check("matmul rank-2 rhs", List.of(r(2, 3, 4), r(4, 2)), in -> RefOps.matmul(in.get(0), in.get(1), false, false),
                t -> Ops.matmul(t.get(0), t.get(1)));
    }

    @Test
    void linearWrtInputWeightAndBias() {
        check("linear", List.of(r(2, 3, 5), r(4, 5), r(4)), in -> RefOps.linear(in.get(0), in.get(1), in.get(2)),
                t -> Ops.linear(t.get(0), t.get(1), t.get(2)));
        check("linear x only", List.of(r(3, 5), r(4, 5)), new boolean[]{true, false}, in -> RefOps.linear(in.get(0), in.get(1), null),
                t -> Ops.linear(t.get(0), t.get(1), null), 2e-3);
    }

    @Test
    void conv2dKernelsStridesPaddingAndResidual() {
        record Case(int k, Conv2dParams p, int h, int w) {}
        for (Case c : List.of(new Case(1, Conv2dParams.of(1, 0), 4, 3), new Case(3, Conv2dParams.of(1, 1), 5, 4),
                new Case(3, Conv2dParams.of(2, 1), 5, 6), new Case(3, new Conv2dParams(2, 2, 0, 0, 1, 1), 6, 5),
                new Case(1, Conv2dParams.of(2, 0), 5, 5), new Case(3, new Conv2dParams(2, 1, 1, 0, 0, 1), 6, 5),
                new Case(3, new Conv2dParams(1, 1, 0, 1, 2, 0), 4, 5), new Case(3, Conv2dParams.of(1, 0), 5, 5))) {
            Conv2dParams p = c.p();
            int ho = p.outH(c.h(), c.k()), wo = p.outW(c.w(), c.k());
            check("conv2d k" + c.k() + " " + p, List.of(r(2, c.h(), c.w(), 3), r(4, c.k(), c.k(), 3), r(4), r(2, ho, wo, 4)),
                    in -> RefOps.conv2d(in.get(0), in.get(1), in.get(2), p, in.get(3)),
                    t -> Ops.conv2d(t.get(0), t.get(1), t.get(2), p, t.get(3)));
        }
    }

    @Test
    void groupNormWithAndWithoutSilu() {
        for (boolean silu : new boolean[]{false, true})
            check("groupNorm silu=" + silu, List.of(r(2, 3, 2, 8), r(8), r(8)),
                    in -> RefOps.groupNorm(in.get(0), 4, in.get(1), in.get(2), 1e-5, silu),
                    t -> silu ? Ops.groupNormSilu(t.get(0), 4, t.get(1), t.get(2), 1e-5f) : Ops.groupNorm(t.get(0), 4, t.get(1), t.get(2), 1e-5f));
    }

    @Test
    void layerNormWithAndWithoutAffine() {
        check("layerNorm", List.of(r(2, 3, 6), r(6), r(6)), in -> RefOps.layerNorm(in.get(0), in.get(1), in.get(2), 1e-5),
                t -> Ops.layerNorm(t.get(0), t.get(1), t.get(2), 1e-5f));
        check("layerNorm no affine", List.of(r(4, 5)), in -> RefOps.layerNorm(in.get(0), null, null, 1e-5),
                t -> Ops.layerNorm(t.get(0), null, null, 1e-5f));
    }

    @Test
    void softmaxOverLastDim() {
        check("softmax", List.of(r(2, 3, 7)), in -> RefOps.softmax(in.get(0)), t -> Ops.softmax(t.get(0)));
    }

    @Test
    void everyUnaryOp() {
        for (UnaryOp op : UnaryOp.values()) {
            Nd x = r(3, 7);
            if (op == UnaryOp.SQRT) for (int i = 0; i < x.v().length; i++) x.v()[i] = (float) (0.5 + Math.abs(x.v()[i]));
            else for (int i = 0; i < x.v().length; i++) x.v()[i] = (float) (x.v()[i] * 3);
            check("unary " + op, List.of(x), in -> RefOps.unary(op, in.get(0)), t -> Ops.unary(op, t.get(0)));
        }
    }

    @Test
    void everyBinaryOpWithBroadcasting() {
        for (BinaryOp op : BinaryOp.values()) {
            Nd a = r(2, 3, 4), b = r(3, 1);
            if (op == BinaryOp.DIV) for (int i = 0; i < b.v().length; i++) b.v()[i] = (float) (1 + Math.abs(b.v()[i]));
            check("binary " + op, List.of(a, b), in -> RefOps.binary(op, in.get(0), in.get(1)), t -> Ops.binary(op, t.get(0), t.get(1)));
            check("binary " + op + " broadcast lhs", List.of(b, a),
                    in -> RefOps.binary(op, in.get(0), in.get(1)), t -> Ops.binary(op, t.get(0), t.get(1)));
        }
        check("mul same tensor", List.of(r(5)), in -> RefOps.binary(BinaryOp.MUL, in.get(0), in.get(0)), t -> Ops.mul(t.get(0), t.get(0)));
    }

    @Test
    void affineScaleAndGeglu() {
        check("affine", List.of(r(3, 4)), in -> RefOps.affine(in.get(0), -1.5, 0.25), t -> Ops.affine(t.get(0), -1.5f, 0.25f));
        check("scale", List.of(r(3, 4)), in -> RefOps.affine(in.get(0), 3, 0), t -> Ops.scale(t.get(0), 3f));
        check("geglu", List.of(r(2, 3, 8)), in -> RefOps.geglu(in.get(0)), t -> Ops.geglu(t.get(0)));
    }

    @Test
    void concatUpsampleEmbedding() {
        check("concat dim 1", List.of(r(2, 2, 3), r(2, 3, 3), r(2, 1, 3)), in -> RefOps.concat(in, 1), t -> Ops.concat(t, 1));
        check("concat last dim, one constant", List.of(r(2, 3), r(2, 4)), new boolean[]{false, true}, in -> RefOps.concat(in, -1),
                t -> Ops.concat(t, -1), 2e-3);
        check("upsample", List.of(r(2, 3, 2, 3)), in -> RefOps.upsample2x(in.get(0)), t -> Ops.upsampleNearest2x(t.get(0)));
        int[] ids = {3, 0, 3, 1, 4};
        check("embedding", List.of(r(5, 4)), in -> RefOps.embedding(in.get(0), ids),
                t -> Ops.embedding(t.get(0), Tensor.ofInts(ids, ids.length)));
    }

    @Test
    void viewsAndCopies() {
        check("permute+contiguous", List.of(r(2, 3, 4)), in -> RefOps.permute(in.get(0), 2, 0, 1),
                t -> Ops.contiguous(t.get(0).permute(2, 0, 1)));
        check("transpose view seeded directly", List.of(r(2, 3, 4)), in -> RefOps.permute(in.get(0), 0, 2, 1), t -> t.get(0).transpose(1, 2));
        check("slice of a transpose", List.of(r(3, 5, 2)), in -> RefOps.slice(RefOps.permute(in.get(0), 1, 0, 2), 0, 1, 4),
                t -> t.get(0).transpose(0, 1).slice(0, 1, 4));
        check("select", List.of(r(3, 4, 2)), in -> RefOps.select(in.get(0), 1, 2), t -> t.get(0).select(1, 2));
        check("reshape", List.of(r(2, 6)), in -> RefOps.reshape(in.get(0), 3, 4), t -> t.get(0).reshape(3, 4));
        check("share and cast", List.of(r(2, 3)), in -> in.get(0), t -> Ops.cast(t.get(0).share(), DType.F32));
        check("to the cpu", List.of(r(2, 3)), in -> RefOps.affine(in.get(0), 2, 0), t -> Ops.scale(Ops.to(t.get(0), Device.CPU), 2f));
        check("strided input to an op", List.of(r(4, 3)), in -> RefOps.unary(UnaryOp.SILU, RefOps.permute(in.get(0), 1, 0)),
                t -> Ops.silu(t.get(0).transpose(0, 1)));
    }

    /** Checkpoint weights kept in half precision (constants) on the path of a watched activation. */
    @Test
    void halfPrecisionConstantWeights() {
        Nd w = half(r(4, 5)), cw = half(r(3, 3, 3, 2));
        check("linear, F16 weight", List.of(r(2, 5), w), new boolean[]{true, false}, in -> RefOps.linear(in.get(0), in.get(1), null),
                t -> Ops.linear(t.get(0), Ops.cast(t.get(1), DType.F16), null), 2e-3);
        check("conv2d, F16 weight", List.of(r(1, 4, 4, 2), cw), new boolean[]{true, false},
                in -> RefOps.conv2d(in.get(0), in.get(1), null, Conv2dParams.of(1, 1), null),
                t -> Ops.conv2d(t.get(0), Ops.cast(t.get(1), DType.F16), null, Conv2dParams.of(1, 1)), 2e-3);
    }

    private static Nd half(Nd a) {
        for (int i = 0; i < a.v().length; i++) a.v()[i] = Float.float16ToFloat(Float.floatToFloat16((float) a.v()[i]));
        return a;
    }

    @Test
    void reusedIntermediatesAccumulate() {
        // y = softmax(x W^T) * x W^T + silu(x)[..., :4] : x reaches the output along three paths
        check("diamond", List.of(r(3, 4), r(4, 4)),
                in -> {
                    Nd h = RefOps.linear(in.get(0), in.get(1), null);
                    return RefOps.binary(BinaryOp.ADD, RefOps.binary(BinaryOp.MUL, RefOps.softmax(h), h), RefOps.unary(UnaryOp.SILU, in.get(0)));
                },
                t -> {
                    Tensor h = Ops.linear(t.get(0), t.get(1), null);
                    return Ops.add(Ops.mul(Ops.softmax(h), h), Ops.silu(t.get(0)));
                });
    }
}
