package dev.diffuse4j.runtime.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Builds the bytes of a C struct passed by value to a kernel, with natural alignment (x86-64 /
 * CUDA ABI): each field aligned to its size, the whole padded to 8. Mirrors the structs of
 * kernels/src/main/cuda/*.cuh field by field.
 */
final class CStruct {
    private final ByteBuffer b;

    CStruct(int capacity) { b = ByteBuffer.allocate(capacity).order(ByteOrder.LITTLE_ENDIAN); }

    private void align(int n) { while (b.position() % n != 0) b.put((byte) 0); }

    CStruct i32(int v) { align(4); b.putInt(v); return this; }

    CStruct i16(short v) { align(2); b.putShort(v); return this; }

    CStruct f32(float v) { align(4); b.putFloat(v); return this; }

    CStruct i64(long v) { align(8); b.putLong(v); return this; }

    /** A device pointer (8 bytes); 0 is null. */
    CStruct ptr(long address) { return i64(address); }

    int size() { return b.position(); }

    byte[] bytes() {
        align(8);
        byte[] out = new byte[b.position()];
        b.flip();
        b.get(out);
        return out;
    }

    /** {@code struct Strided { int rank; int pad; long long shape[8]; long long stride[8]; }}. */
    static byte[] strided(int[] shape, long[] strides) {
        if (shape.length > 8) throw new IllegalArgumentException("cuda kernels take tensors of rank <= 8, got rank " + shape.length);
        CStruct s = new CStruct(136).i32(shape.length).i32(0);
        for (int i = 0; i < 8; i++) s.i64(i < shape.length ? shape[i] : 1);
        for (int i = 0; i < 8; i++) s.i64(i < strides.length ? strides[i] : 0);
        return s.bytes();
    }
}
