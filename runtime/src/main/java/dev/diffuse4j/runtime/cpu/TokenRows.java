package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Reads runs of channels of single tokens out of a rank-3 [B, N, C] host tensor of any float
 * dtype (F32/F16/BF16) and any strides, as F32. Attention uses it to gather heads from strided
 * views (for example q/k/v slices of one fused projection) without copying the whole tensor.
 */
final class TokenRows {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final MemorySegment seg;
    private final DType dtype;
    private final long offset, itemStride, tokenStride, channelStride;

    TokenRows(Tensor t) {
        this.seg = t.cpuSegment();
        this.dtype = t.dtype();
        this.offset = t.offset();
        this.itemStride = t.stride(0);
        this.tokenStride = t.stride(1);
        this.channelStride = t.stride(2);
    }

    static boolean readable(DType d) { return d == DType.F32 || d == DType.F16 || d == DType.BF16; }

    /** dst[dstOff + i] = t[item, token, c0 + i] for i in [0, len). */
    void read(int item, int token, int c0, int len, float[] dst, int dstOff) {
        long e = offset + item * itemStride + token * tokenStride + c0 * channelStride;
        switch (dtype) {
            case F32 -> {
                if (channelStride == 1) MemorySegment.copy(seg, F32, e * 4, dst, dstOff, len);
                else for (int i = 0; i < len; i++) dst[dstOff + i] = seg.get(F32, (e + i * channelStride) * 4);
            }
            case F16 -> {
                for (int i = 0; i < len; i++) dst[dstOff + i] = Float.float16ToFloat(seg.get(I16, (e + i * channelStride) * 2));
            }
            case BF16 -> {
                for (int i = 0; i < len; i++) dst[dstOff + i] = Float.intBitsToFloat((seg.get(I16, (e + i * channelStride) * 2) & 0xFFFF) << 16);
            }
            default -> throw new IllegalStateException("attention reads F32/F16/BF16, not " + dtype);
        }
    }
}
