package dev.diffuse4j.runtime;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorTest {

    private static float[] iota(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = i;
        return v;
    }

    // ---------------------------------------------------------------- views

    @Test
    void reshapeInfersMinusOneAndSharesStorage() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(iota(24), 2, 3, 4);
            assertArrayEquals(new int[]{6, 4}, x.reshape(-1, 4).shape());
            assertArrayEquals(new int[]{2, 12}, x.reshape(2, -1).shape());
            assertArrayEquals(new int[]{24}, x.reshape(-1).shape());
            assertArrayEquals(new int[]{1, 24, 1}, x.reshape(1, -1, 1).shape());
            Tensor r = x.reshape(4, 6);
            assertSame(x.storage(), r.storage());
            r.setFloat(7, -1f);
            assertEquals(-1f, x.getFloat(7));
            assertArrayEquals(iota(24), Tensor.of(iota(24), 24).reshape(2, 3, 4).toFloatArray());
        }
    }

    @Test
    void reshapeErrorsSayWhatIsWrong() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(2, 3, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> x.reshape(-1, -1));
            assertTrue(e.getMessage().contains("more than one -1"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> x.reshape(5, -1));
            assertTrue(e.getMessage().contains("[2, 3, 4]") && e.getMessage().contains("do not divide"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> x.reshape(5, 5));
            assertTrue(e.getMessage().contains("24 elements") && e.getMessage().contains("25 elements"), e.getMessage());
            Tensor t = x.transpose(0, 2);
            e = assertThrows(IllegalArgumentException.class, () -> t.reshape(24));
            assertTrue(e.getMessage().contains("not contiguous") && e.getMessage().contains("contiguous()"), e.getMessage());
        }
    }

    @Test
    void permuteTransposeSliceSelectIndexTheSameData() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(iota(2 * 3 * 4 * 5), 2, 3, 4, 5); // value = flat index
            Tensor p = x.permute(3, 1, 0, 2);                       // [5, 3, 2, 4]
            assertArrayEquals(new int[]{5, 3, 2, 4}, p.shape());
            assertArrayEquals(new long[]{1, 20, 60, 5}, p.strides());
            for (int a = 0; a < 5; a++)
                for (int b = 0; b < 3; b++)
                    for (int c = 0; c < 2; c++)
                        for (int d = 0; d < 4; d++)
                            assertEquals(((c * 3 + b) * 4 + d) * 5 + a, p.getFloat(((a * 3 + b) * 2 + c) * 4 + d));
            Tensor t = x.transpose(1, -1);                          // [2, 5, 4, 3]
            assertArrayEquals(new int[]{2, 5, 4, 3}, t.shape());
            assertEquals(((1 * 3 + 2) * 4 + 3) * 5 + 4, t.getFloat(((1 * 5 + 4) * 4 + 3) * 3 + 2));
            Tensor sl = x.slice(2, 1, 3);                           // [2, 3, 2, 5]
            assertArrayEquals(new int[]{2, 3, 2, 5}, sl.shape());
            assertEquals(5, sl.offset());
            assertEquals(((1 * 3 + 2) * 4 + 2) * 5 + 4, sl.getFloat(((1 * 3 + 2) * 2 + 1) * 5 + 4));
            Tensor se = x.select(1, 2);                             // [2, 4, 5]
            assertArrayEquals(new int[]{2, 4, 5}, se.shape());
            assertEquals(((1 * 3 + 2) * 4 + 3) * 5 + 1, se.getFloat((1 * 4 + 3) * 5 + 1));
            assertFalse(p.isContiguous());
            assertTrue(x.slice(0, 1, 2).isContiguous());
        }
    }

    @Test
    void viewErrorsNameTheTensor() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(2, 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> x.permute(0, 0));
            assertTrue(e.getMessage().contains("F32[2, 3]") && e.getMessage().contains("repeats"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> x.permute(0));
            assertTrue(e.getMessage().contains("wrong length"), e.getMessage());
            IndexOutOfBoundsException o = assertThrows(IndexOutOfBoundsException.class, () -> x.slice(1, 2, 4));
            assertTrue(o.getMessage().contains("F32[2, 3]") && o.getMessage().contains("[2, 4)"), o.getMessage());
            o = assertThrows(IndexOutOfBoundsException.class, () -> x.select(0, 2));
            assertTrue(o.getMessage().contains("index 2"), o.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> x.transpose(0, 2));
        }
    }

    @Test
    void contiguousCopiesOfPermutedViewsEqualTheReference() {
        Random r = new Random(System.nanoTime());
        try (Scope s = Scope.open()) {
            int[] shape = {3, 1, 4, 7, 2};
            int n = 3 * 4 * 7 * 2;
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = r.nextFloat();
            Tensor x = Tensor.of(v, shape);
            int[] order = {4, 2, 0, 3, 1};
            Tensor p = x.permute(order);
            Tensor c = p.contiguous();
            assertTrue(c.isContiguous());
            assertArrayEquals(p.shape(), c.shape());
            float[] got = c.toFloatArray();
            int[] ps = p.shape();
            int[] idx = new int[5];
            for (int i = 0; i < n; i++) {
                int rem = i;
                for (int d = 4; d >= 0; d--) {
                    idx[d] = rem % ps[d];
                    rem /= ps[d];
                }
                int[] src = new int[5];
                for (int d = 0; d < 5; d++) src[order[d]] = idx[d];
                int flat = 0;
                for (int d = 0; d < 5; d++) flat = flat * shape[d] + src[d];
                assertEquals(v[flat], got[i]);
            }
            Tensor same = x.contiguous();
            assertSame(x.storage(), same.storage(), "contiguous() of a contiguous tensor is a shared view");
        }
    }

    // ---------------------------------------------------------------- lifetime

    @Test
    void closingAViewKeepsTheBaseAliveAndClosingAllFrees() {
        long before = MemoryStats.cpuBytesInUse();
        Tensor base = Tensor.of(iota(24), 2, 3, 4);
        assertEquals(before + 96, MemoryStats.cpuBytesInUse());
        Tensor view = base.permute(2, 0, 1);
        Tensor slice = base.slice(0, 1, 2);
        view.close();
        view.close(); // idempotent
        assertEquals(23f, base.getFloat(23));
        base.close();
        assertEquals(before + 96, MemoryStats.cpuBytesInUse(), "the slice still holds the storage");
        assertEquals(12f, slice.getFloat(0));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> base.getFloat(0));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        slice.close();
        assertEquals(before, MemoryStats.cpuBytesInUse());
    }

    @Test
    void shareGivesAnIndependentReference() {
        long before = MemoryStats.cpuBytesInUse();
        Tensor a = Tensor.zeros(10);
        Tensor b = a.share();
        a.close();
        assertEquals(0f, b.getFloat(9));
        b.close();
        assertEquals(before, MemoryStats.cpuBytesInUse());
    }

    @Test
    void scopeClosesWhatItCreatedExceptKeptTensors() {
        long before = MemoryStats.cpuBytesInUse();
        Tensor kept, inner, outerTmp;
        try (Scope outer = Scope.open()) {
            outerTmp = Tensor.zeros(4);
            try (Scope in = Scope.open()) {
                inner = Tensor.zeros(8);
                kept = in.keep(Tensor.zeros(16));
                assertSame(in, Scope.current());
            }
            assertTrue(inner.isClosed());
            assertFalse(kept.isClosed(), "kept tensors move to the enclosing scope");
            assertSame(outer, Scope.current());
        }
        assertTrue(kept.isClosed() && outerTmp.isClosed());
        assertEquals(before, MemoryStats.cpuBytesInUse());
        assertEquals(null, Scope.current());
    }

    @Test
    void keepWithoutAnEnclosingScopeHandsOwnershipToTheCaller() {
        long before = MemoryStats.cpuBytesInUse();
        Tensor t;
        try (Scope s = Scope.open()) {
            t = s.keep(Tensor.zeros(32));
        }
        assertFalse(t.isClosed());
        assertEquals(before + 128, MemoryStats.cpuBytesInUse());
        t.close();
        assertEquals(before, MemoryStats.cpuBytesInUse());
    }

    @Test
    void detachRemovesATensorFromEveryScope() {
        Tensor d;
        try (Scope a = Scope.open(); Scope b = Scope.open()) {
            d = Scope.detach(Tensor.zeros(3));
        }
        assertFalse(d.isClosed());
        d.close();
    }

    @Test
    void scopesMustCloseInnermostFirst() {
        Scope outer = Scope.open();
        Scope inner = Scope.open();
        IllegalStateException e = assertThrows(IllegalStateException.class, outer::close);
        assertTrue(e.getMessage().contains("innermost"), e.getMessage());
        inner.close();
        outer.close();
        assertEquals(null, Scope.current());
    }
}
