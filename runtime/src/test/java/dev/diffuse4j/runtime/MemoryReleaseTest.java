package dev.diffuse4j.runtime;

import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every byte the ops allocate inside a scope is given back when the scope closes. */
class MemoryReleaseTest {

    private static Tensor randn(Random r, int... shape) {
        float[] v = new float[(int) Shapes.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }

    /** A block in the style of the UNet: norms, activations, residuals, GEGLU, concat, softmax, views. */
    private static Tensor block(Tensor x, Tensor gamma, Tensor beta, Tensor skip) {
        Tensor h = Ops.groupNormSilu(x, 8, gamma, beta, 1e-5f);
        h = Ops.add(h, Ops.silu(x));
        h = Ops.mul(h, Ops.affine(Ops.cast(Ops.cast(gamma, DType.F16), DType.F32), 0.5f, 1f));
        Tensor tokens = h.reshape(h.dim(0), -1, h.dim(-1));
        Tensor ff = Ops.geglu(Ops.concat(-1, tokens, Ops.layerNorm(tokens, gamma, beta, 1e-5f)));
        Tensor cat = Ops.concat(-1, ff.reshape(x.shape()), skip);
        Tensor scores = Ops.softmax(Ops.scale(cat.permute(0, 3, 1, 2), 0.1f));
        Tensor up = Ops.upsampleNearest2x(Ops.contiguous(scores.permute(0, 2, 3, 1)));
        return Ops.sub(Ops.unary(dev.diffuse4j.runtime.ops.UnaryOp.GELU_ERF, up), Ops.full(Device.CPU, DType.F32, 1f, 1));
    }

    @Test
    void opChainsInsideScopesReturnToTheBaseline() {
        Random r = new Random(System.nanoTime());
        Tensor x = randn(r, 2, 6, 5, 16), gamma = randn(r, 16), beta = randn(r, 16), skip = randn(r, 2, 6, 5, 16);
        long baseline = MemoryStats.cpuBytesInUse();
        for (int i = 0; i < 25; i++) {
            try (Scope s = Scope.open()) {
                Tensor y = block(x, gamma, beta, skip);
                assertEquals(4, y.rank());
                assertTrue(MemoryStats.cpuBytesInUse() > baseline);
            }
            assertEquals(baseline, MemoryStats.cpuBytesInUse(), "iteration " + i);
        }
        // Kept results survive their scope and free exactly their own bytes when closed.
        Tensor kept;
        try (Scope s = Scope.open()) {
            kept = s.keep(block(x, gamma, beta, skip));
        }
        assertEquals(baseline + kept.byteSize(), MemoryStats.cpuBytesInUse());
        kept.close();
        assertEquals(baseline, MemoryStats.cpuBytesInUse());
        // A failing op in the middle of a chain leaks nothing either.
        assertThrows(IllegalArgumentException.class, () -> {
            try (Scope s = Scope.open()) {
                Tensor h = Ops.silu(Ops.groupNorm(x, 8, gamma, beta, 1e-5f));
                Ops.add(h, randn(r, 3, 7));
            }
        });
        assertEquals(baseline, MemoryStats.cpuBytesInUse());
        x.close();
        gamma.close();
        beta.close();
        skip.close();
    }
}
