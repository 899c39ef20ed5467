package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Numbers;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The packing building blocks: exhaustive half-precision widening and the vector transpose. */
class PanelsTest {
    @Test
    void widensEveryHalfAndBfloatBitPattern() {
        int n = 1 << 16;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(2L * n + 2);
            for (int i = 0; i < n; i++) seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2 + 2L * i, (short) i);
            float[] f16 = new float[n], bf16 = new float[n];
            // odd byte offset start (one short in) so vector loads are unaligned
            Panels.loadRow(seg, DType.F16, 2, f16, 0, n);
            Panels.loadRow(seg, DType.BF16, 2, bf16, 0, n);
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToRawIntBits(Float.float16ToFloat((short) i)), Float.floatToRawIntBits(f16[i]),
                        "F16 0x" + Integer.toHexString(i));
                assertEquals(Float.floatToRawIntBits(Numbers.bf16ToF32((short) i)), Float.floatToRawIntBits(bf16[i]),
                        "BF16 0x" + Integer.toHexString(i));
            }
        }
    }

    @Test
    void transposeMatchesScalarDefinition() {
        Random rnd = new Random(42);

        for (int width : new int[]{8, 32}) {
            for (int rows = 1; rows <= width; rows += rows < 9 ? 1 : 7) {
                for (int depth : new int[]{1, 15, 16, 17, 48, 77}) {
                    int lds = depth + rnd.nextInt(4), srcOff = rnd.nextInt(5), dstOff = rnd.nextInt(5);
                    float[] src = new float[srcOff + rows * lds];
                    for (int i = 0; i < src.length; i++) src[i] = rnd.nextFloat();
                    float[] dst = new float[dstOff + width * depth + 3];
                    java.util.Arrays.fill(dst, Float.NaN);
                    Panels.transpose(src, srcOff, lds, rows, depth, dst, dstOff, width);
                    for (int k = 0; k < depth; k++)
                        for (int r = 0; r < width; r++)
                            assertEquals(r < rows ? src[srcOff + r * lds + k] : 0f, dst[dstOff + k * width + r],
                                    "width " + width + " rows " + rows + " depth " + depth + " at k=" + k + " r=" + r);
                    for (int i = 0; i < dstOff; i++) assertEquals(Float.NaN, dst[i], "wrote before the panel");
                    for (int i = dstOff + width * depth; i < dst.length; i++) assertEquals(Float.NaN, dst[i], "wrote after the panel");
                }
            }
        }
    }
}
