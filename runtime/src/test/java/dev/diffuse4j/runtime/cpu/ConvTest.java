package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Conv2dParams;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * conv2d (NHWC, weights [Cout, kh, kw, Cin]) against a plain float64 convolution on fresh random
 * inputs. The seed is printed; rerun a failure with -Dd4j.test.seed=SEED.
 */
class ConvTest {
    static long seed;
    static Random rnd;

    @BeforeAll
    static void seed() {
        seed = Long.getLong("d4j.test.seed", System.nanoTime());
        System.out.println("ConvTest seed " + seed);
        rnd = new Random(seed);
    }

    @Test
    void threeByThreeSamePadding() {
        check(random(1, 9, 11, 5), random(7, 3, 3, 5), random(7), Conv2dParams.of(1, 1), false);
        check(random(2, 16, 16, 33), random(40, 3, 3, 33), null, Conv2dParams.of(1, 1), false); // parallel, several depth blocks
    }

    @Test
    void strideTwoAndAsymmetricPadding() {
        check(random(2, 13, 10, 6), random(9, 3, 3, 6), random(9), Conv2dParams.of(2, 1), false);
        // VAE encoder downsample: pad right and bottom only
        check(random(1, 12, 9, 8), random(8, 3, 3, 8), random(8), new Conv2dParams(2, 2, 0, 0, 1, 1), false);
        check(random(1, 7, 8, 3), random(5, 3, 3, 3), null, new Conv2dParams(1, 2, 2, 0, 1, 3), false);
    }

    @Test
    void oneByOneIsPlainGemmAndStrided() {
        check(random(2, 8, 9, 33), random(77, 1, 1, 33), random(77), Conv2dParams.of(1, 0), false);
        check(random(1, 9, 9, 16), random(7, 1, 1, 16), random(7), Conv2dParams.of(2, 0), false);
        check(random(1, 5, 6, 4), random(3, 1, 1, 4), null, Conv2dParams.of(1, 1), false); // 1x1 with padding
    }

    @Test
    void otherKernelShapes() {
        check(random(1, 10, 12, 7), random(6, 1, 3, 7), random(6), new Conv2dParams(1, 1, 0, 1, 0, 1), false);
        check(random(2, 9, 8, 3), random(4, 5, 2, 3), random(4), new Conv2dParams(2, 1, 2, 0, 2, 1), false);
        check(random(1, 4, 4, 2), random(3, 4, 4, 2), null, Conv2dParams.of(1, 0), false); // kernel = input
    }

    @Test
    void residualIsAddedAndHalfWeights() {
        for (DType dt : new DType[]{DType.F32, DType.F16, DType.BF16}) {
            check(random(1, 8, 8, 12), Ops.cast(random(10, 3, 3, 12), dt), random(10), Conv2dParams.of(1, 1), true);
            check(random(1, 6, 6, 12), Ops.cast(random(10, 1, 1, 12), dt), null, Conv2dParams.of(1, 0), true);
        }
        // full 8x32 tiles take the direct path; K = 432 spans two depth blocks (residual and bias added once)
        check(random(1, 10, 9, 48), random(40, 3, 3, 48), random(40), Conv2dParams.of(1, 1), true);
        check(random(2, 6, 7, 8), random(64, 1, 1, 8), null, Conv2dParams.of(1, 0), true);
        // residual in another dtype and layout
        Tensor x = random(1, 5, 5, 4), w = random(6, 3, 3, 4);
        Tensor res = Ops.cast(random(1, 6, 5, 5), DType.BF16).permute(0, 2, 3, 1);
        expectConv(x, w, null, Conv2dParams.of(1, 1), res);
    }

    @Test
    void stridedInputsAndHalfActivations() {
        Tensor nchw = random(2, 6, 9, 7);
        check(nchw.permute(0, 2, 3, 1), random(5, 3, 3, 6), random(5), Conv2dParams.of(1, 1), false); // channel stride 63
        check(random(1, 8, 8, 20).slice(3, 2, 18), random(4, 1, 1, 16), null, Conv2dParams.of(1, 0), false);
        check(Ops.cast(random(1, 7, 7, 9), DType.F16), Ops.cast(random(8, 3, 3, 9), DType.F16), null, Conv2dParams.of(2, 1), false);
        // weight with permuted storage (OIHW re-laid as a view instead of a copy)
        check(random(1, 6, 6, 5), random(4, 5, 3, 3).permute(0, 2, 3, 1), random(4), Conv2dParams.of(1, 1), false);
    }

    @Test
    void shapeErrorsNameOpAndShapes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Ops.conv2d(random(1, 4, 4, 3), random(2, 3, 3, 5), null, Conv2dParams.of(1, 1)));
        assertTrue(e.getMessage().contains("conv2d") && e.getMessage().contains("[1, 4, 4, 3]") && e.getMessage().contains("[2, 3, 3, 5]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Ops.conv2d(random(1, 4, 4, 3), random(2, 3, 3, 3), random(3), Conv2dParams.of(1, 1)));
        assertTrue(e.getMessage().contains("conv2d") && e.getMessage().contains("bias F32[3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Ops.conv2d(random(1, 4, 4, 3), random(2, 3, 3, 3), null, Conv2dParams.of(1, 1), random(1, 4, 4, 3)));
        assertTrue(e.getMessage().contains("residual") && e.getMessage().contains("[1, 4, 4, 2]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Ops.conv2d(random(4, 4, 3), random(2, 3, 3, 3), null, Conv2dParams.of(1, 1)));
        assertTrue(e.getMessage().contains("conv2d") && e.getMessage().contains("[4, 4, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Ops.conv2d(random(1, 2, 2, 3), random(2, 5, 5, 3), null, Conv2dParams.of(1, 1)));
        assertTrue(e.getMessage().contains("conv2d") && e.getMessage().contains("smaller than the kernel"), e.getMessage());
    }

    // ---------------------------------------------------------------- reference

    void check(Tensor x, Tensor w, Tensor bias, Conv2dParams p, boolean withResidual) {
        int outH = p.outH(x.dim(1), w.dim(1)), outW = p.outW(x.dim(2), w.dim(2));
        Tensor res = withResidual ? random(x.dim(0), outH, outW, w.dim(0)) : null;
        expectConv(x, w, bias, p, res);
    }

    void expectConv(Tensor x, Tensor w, Tensor bias, Conv2dParams p, Tensor residual) {
        Tensor y = Conv.conv2d(x, w, bias, p, residual); // F32 result (Ops rounds half inputs: HalfStorageTest)
        int b = x.dim(0), h = x.dim(1), wd = x.dim(2), cin = x.dim(3), cout = w.dim(0), kh = w.dim(1), kw = w.dim(2);
        int outH = p.outH(h, kh), outW = p.outW(wd, kw);
        assertEquals(java.util.Arrays.toString(new int[]{b, outH, outW, cout}), java.util.Arrays.toString(y.shape()));
        float[] xf = x.toFloatArray(), wf = w.toFloatArray();
        float[] bf = bias == null ? null : bias.toFloatArray(), rf = residual == null ? null : residual.toFloatArray();
        double[] ref = new double[b * outH * outW * cout];
        for (int n = 0; n < b; n++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                    for (int co = 0; co < cout; co++) {
                        int o = ((n * outH + oy) * outW + ox) * cout + co;
                        double s = (bf == null ? 0 : bf[co]) + (rf == null ? 0 : rf[o]);
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++) {
                                int iy = oy * p.strideH() - p.padTop() + ky, ix = ox * p.strideW() - p.padLeft() + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                for (int ci = 0; ci < cin; ci++)
                                    s += (double) xf[((n * h + iy) * wd + ix) * cin + ci] * wf[((co * kh + ky) * kw + kx) * cin + ci];
                            }
                        ref[o] = s;
                    }
        GemmTest.assertClose(ref, y.toFloatArray(), "conv2d " + x.describe() + " w " + w.describe() + " " + p
                + (residual == null ? "" : " + residual"), seed);
    }

    static Tensor random(int... shape) {
        long n = 1;
        for (int s : shape) n *= s;
        float[] a = new float[(int) n];
        for (int i = 0; i < a.length; i++) a[i] = rnd.nextFloat() * 2 - 1;
        return Tensor.of(a, shape);
    }
}
