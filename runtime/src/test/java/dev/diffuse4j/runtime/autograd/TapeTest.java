package dev.diffuse4j.runtime.autograd;

import dev.diffuse4j.runtime.MemoryStats;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Conv2dParams;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tape's contract: what it records, errors, ownership and memory. */
class TapeTest {
    private static Tensor random(long seed, int... shape) {
        Random r = new Random(seed);
        int n = 1;
        for (int d : shape) n *= d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }

    @Test
    void currentIsNullOutsideAndTheTapeInside() {
        assertNull(Tape.current());
        try (Tape t = Tape.record()) {
            assertSame(t, Tape.current());
        }
        assertNull(Tape.current());
    }

    @Test
    void nestingIsAClearError() {
        try (Tape t = Tape.record()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, Tape::record);
            assertTrue(e.getMessage().contains("do not nest"), e.getMessage());
        }
    }

    @Test
    void constantsAreNotRecordedAndCannotBeSeeded() {
        try (Scope s = Scope.open(); Tape t = Tape.record()) {
            Tensor w = random(1, 3, 3);
            Tensor x = t.watch(random(2, 2, 3));
            Tensor c = Ops.silu(w);                  // does not depend on x
            Tensor y = Ops.matmul(x, c);
            assertFalse(t.tracks(c));
            assertTrue(t.tracks(y));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.backward(Map.of(c, Tensor.zeros(3, 3))));
            assertTrue(e.getMessage().contains("was not recorded"), e.getMessage());
        }
    }

    @Test
    void seedOfTheWrongShapeIsRefused() {
        try (Scope s = Scope.open(); Tape t = Tape.record()) {
            Tensor y = Ops.scale(t.watch(random(3, 2, 3)), 2f);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.backward(Map.of(y, Tensor.zeros(3, 2))));
            assertTrue(e.getMessage().contains("does not match"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> t.backward(y));   // not a scalar
        }
    }

    @Test
    void secondBackwardAndUseAfterCloseAreErrors() {
        Tape leaked;
        try (Scope s = Scope.open(); Tape t = Tape.record()) {
            Tensor x = t.watch(random(4, 3));
            Tensor loss = Ops.matmul(x.reshape(1, 3), x.reshape(3, 1));
            Gradients g = t.backward(loss);
            assertThrows(IllegalStateException.class, () -> t.backward(loss));
            // d(x.x)/dx = 2x
            float[] xv = x.toFloatArray(), gv = g.of(x).toFloatArray();
            for (int i = 0; i < 3; i++) assertEquals(2 * xv[i], gv[i], 1e-5);
            leaked = t;
        }
        assertThrows(IllegalStateException.class, () -> leaked.watch(Tensor.zeros(1)));
    }

    @Test
    void unreachedWatchedTensorGetsZerosAndForeignHandleIsRefused() {
        try (Scope s = Scope.open(); Tape t = Tape.record()) {
            Tensor a = t.watch(random(5, 2, 2)), b = t.watch(random(6, 3));
            Tensor y = Ops.silu(a);
            Gradients g = t.backward(Map.of(y, Tensor.of(new float[]{1, 1, 1, 1}, 2, 2)));
            assertTrue(g.reached(a));
            assertFalse(g.reached(b));
            assertArrayEquals(new float[3], g.of(b).toFloatArray());
            assertThrows(IllegalArgumentException.class, () -> g.of(Tensor.zeros(3)));
        }
    }

    @Test
    void timestepsThatDependOnAWatchedTensorAreRefused() {
        try (Scope s = Scope.open(); Tape t = Tape.record()) {
            Tensor ts = t.watch(Tensor.of(new float[]{10f}, 1));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.timestepEmbedding(ts, 8, true, 0f));
            assertTrue(e.getMessage().contains("not differentiable"), e.getMessage());
        }
    }

    @Test
    void closingTheTapeFreesEverythingItHeld() {
        Tensor input = random(7, 1, 8, 8, 4), w = random(8, 4, 3, 3, 4), gamma = random(9, 4);
        long baseline = MemoryStats.cpuBytesInUse();
        long during;
        try (Tape t = Tape.record()) {
            Tensor x = t.watch(input), y;
            try (Scope s = Scope.open()) {  // the forward's scope closes before backward: the tape holds what it needs
                Tensor h = Ops.groupNormSilu(Ops.conv2d(x, w, null, Conv2dParams.of(2, 1)), 2, gamma, null, 1e-5f);
                y = s.keep(Ops.softmax(Ops.upsampleNearest2x(h).reshape(1, -1, 4)));
            }
            during = MemoryStats.cpuBytesInUse();
            try (Tensor seed = random(10, y.shape())) {
                Gradients g = t.backward(Map.of(y, seed));
                assertArrayEquals(input.shape(), g.of(x).shape());
                assertTrue(g.reached(x));
            }
            y.close();
        }
        assertTrue(during > baseline, "the tape holds saved tensors during recording");
        assertEquals(baseline, MemoryStats.cpuBytesInUse(), "live host bytes after the tape closed");
    }
}
