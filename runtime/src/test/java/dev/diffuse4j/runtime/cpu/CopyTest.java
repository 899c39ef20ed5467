package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Numbers;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cpu.OpsCheck.Layout;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.diffuse4j.runtime.cpu.OpsCheck.make;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class CopyTest {

    /** Random floats over the whole exponent range plus the values where rounding is delicate. */
    static float[] awkwardFloats(Random r, int n) {
        float[] special = {0f, -0f, 1f, -1f, 65504f, 65519.99f, 65520f, -65520f, 1e5f, 6.1035156e-5f, 6.0975552e-5f,
                5.9604645e-8f, 2.9802322e-8f, 2.9802326e-8f, 1e-10f, Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0x7FA00001),
                Float.intBitsToFloat(0xFFC12345), Float.intBitsToFloat(0x3F808000), Float.intBitsToFloat(0x3F818000),
                Float.intBitsToFloat(0x3F80_7FFF), Float.intBitsToFloat(0x7F7F_FFFF), 1.0009766f, 1.0004883f, 1.0014648f};
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            if (i < special.length) v[i] = special[i];
            else if (r.nextBoolean()) v[i] = Float.intBitsToFloat(r.nextInt());
            else v[i] = (float) (r.nextGaussian() * Math.pow(2, r.nextInt(40) - 25));
        }
        return v;
    }

    static void assertSameFloat(float expect, float got, String what) {
        if (Float.isNaN(expect) ? !Float.isNaN(got) : Float.floatToRawIntBits(expect) != Float.floatToRawIntBits(got))
            fail(what + ": got " + got + " (0x" + Integer.toHexString(Float.floatToRawIntBits(got)) + "), expected " + expect
                    + " (0x" + Integer.toHexString(Float.floatToRawIntBits(expect)) + ")");
    }

    @Test
    void castToF16AndBackRoundsLikeFloatToFloat16() {
        Random r = OpsCheck.random("cast f16");
        for (int n : new int[]{1, 33, 5000, 300_001}) {
            float[] v = awkwardFloats(r, n);
            try (Scope s = Scope.open()) {
                Tensor half = Ops.cast(make(v, n), DType.F16);
                assertEquals(DType.F16, half.dtype());
                float[] back = Ops.cast(half, DType.F32).toFloatArray();
                for (int i = 0; i < n; i++) assertSameFloat(Float.float16ToFloat(Float.floatToFloat16(v[i])), back[i], "F16 round trip of " + v[i]);
            }
        }
    }

    @Test
    void castToBf16AndBackRoundsToNearestEven() {
        Random r = OpsCheck.random("cast bf16");
        for (int n : new int[]{1, 33, 5000, 300_001}) {
            float[] v = awkwardFloats(r, n);
            try (Scope s = Scope.open()) {
                Tensor bf = Ops.cast(make(v, n), DType.BF16);
                float[] back = Ops.cast(bf, DType.F32).toFloatArray();
                for (int i = 0; i < n; i++) assertSameFloat(Numbers.bf16ToF32(Numbers.f32ToBf16(v[i])), back[i], "BF16 round trip of " + v[i]);
            }
        }
        // Ties go to even, independently of Numbers: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7.
        try (Scope s = Scope.open()) {
            float[] ties = {1f + 0x1p-8f, 1f + 3 * 0x1p-8f, -(1f + 0x1p-8f)};
            float[] got = Ops.cast(Ops.cast(make(ties, 3), DType.BF16), DType.F32).toFloatArray();
            assertArrayEquals(new float[]{1f, 1f + 4 * 0x1p-8f, -1f}, got);
        }
    }

    @Test
    void castsBetweenHalfTypesAndFromStridedViews() {
        Random r = OpsCheck.random("cast strided");
        int[] shape = {3, 5, 130};
        int n = 3 * 5 * 130;
        for (Layout layout : Layout.values())
            for (DType from : new DType[]{DType.F32, DType.F16, DType.BF16, DType.F64})
                for (DType to : new DType[]{DType.F32, DType.F16, DType.BF16, DType.F64})
                    try (Scope s = Scope.open()) {
                        Tensor x = make(OpsCheck.randn(r, n, 100), from, layout, shape);
                        float[] in = x.toFloatArray();
                        Tensor y = Ops.cast(x, to);
                        assertEquals(to, y.dtype());
                        assertArrayEquals(shape, y.shape());
                        assertTrue(y.isContiguous());
                        for (int i = 0; i < n; i++) {
                            float expect = switch (to) {
                                case F16 -> Float.float16ToFloat(Float.floatToFloat16(in[i]));
                                case BF16 -> Numbers.bf16ToF32(Numbers.f32ToBf16(in[i]));
                                default -> in[i];
                            };
                            assertSameFloat(expect, y.getFloat(i), from + " " + layout + " -> " + to + " element " + i);
                        }
                    }
    }

    @Test
    void integerCasts() {
        try (Scope s = Scope.open()) {
            Tensor l = Tensor.ofLongs(new long[]{0, -3, 1L << 33, 49407}, 4);
            assertArrayEquals(new long[]{0, -3, 0, 49407}, Ops.cast(l, DType.I32).toLongArray());
            assertArrayEquals(new float[]{0, -3, 8589934592f, 49407}, Ops.cast(l, DType.F32).toFloatArray());
            Tensor f = make(new float[]{2.9f, -2.9f, 0.5f, 7f}, 4);
            assertArrayEquals(new long[]{2, -2, 0, 7}, Ops.cast(f, DType.I64).toLongArray(), "float to int truncates toward zero");
            Tensor i = Tensor.ofInts(new int[]{5, 6, 7, 8, 9, 10}, 2, 3).transpose(0, 1);
            assertArrayEquals(new long[]{5, 8, 6, 9, 7, 10}, Ops.cast(i, DType.I64).toLongArray());
        }
    }

    @Test
    void fullFillsEveryElement() {
        try (Scope s = Scope.open()) {
            for (DType dt : new DType[]{DType.F32, DType.F16, DType.BF16, DType.F64})
                for (float v : new float[]{0f, -0f, 1.5f, -3.25e-3f, Float.NaN})
                    for (int n : new int[]{1, 7, 1000, 100_003}) {
                        Tensor t = Ops.full(Device.CPU, dt, v, n);
                        float expect = Numbers.readFloat(Ops.full(Device.CPU, dt, v, 1).cpuSegment(), dt, 0);
                        float[] got = t.toFloatArray();
                        for (int k = 0; k < n; k++) assertSameFloat(expect, got[k], dt + " full(" + v + ") element " + k);
                        if (dt == DType.F32) assertSameFloat(v, expect, "F32 full keeps the exact value");
                    }
            Tensor ints = Ops.full(Device.CPU, DType.I32, 7f, 3, 5);
            for (long x : ints.toLongArray()) assertEquals(7, x);
        }
    }

    @Test
    void contiguousCopiesOfStridedViewsMatch() {
        Random r = OpsCheck.random("contiguous");
        for (DType dt : new DType[]{DType.F32, DType.F16, DType.I32})
            try (Scope s = Scope.open()) {
                int[] shape = {3, 4, 5, 6};
                float[] v = OpsCheck.randn(r, 360, 10);
                Tensor x = Ops.cast(make(v, shape), dt);
                Tensor p = x.permute(2, 0, 3, 1).slice(2, 1, 5);
                Tensor c = p.contiguous();
                assertTrue(c.isContiguous());
                assertEquals(dt, c.dtype());
                assertArrayEquals(p.shape(), c.shape());
                float[] held = x.toFloatArray();
                for (int a = 0; a < 5; a++)
                    for (int b = 0; b < 3; b++)
                        for (int d = 0; d < 4; d++)
                            for (int e = 0; e < 4; e++)
                                assertEquals(held[((b * 4 + e) * 5 + a) * 6 + d + 1], c.getFloat(((a * 3 + b) * 4 + d) * 4 + e), 0.0);
            }
    }
}
