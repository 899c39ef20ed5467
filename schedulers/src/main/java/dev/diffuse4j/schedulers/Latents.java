package dev.diffuse4j.schedulers;

import dev.diffuse4j.runtime.Tensor;
import java.util.Arrays;

/** Moves latents between CPU tensors and the float arrays the schedulers compute on. */
final class Latents {
    private Latents() {}

    /** All elements in row-major order (any float dtype, any strides; CPU only). */
    static float[] read(Tensor t, String what) {
        if (!t.dtype().isFloating())
            throw new IllegalArgumentException("scheduler " + what + " must be a floating-point tensor, got " + t.describe());
        return t.toFloatArray();
    }

    /** A new F32 CPU tensor holding {@code data} in the shape of {@code like}. */
    static Tensor wrap(float[] data, Tensor like) {
        return Tensor.of(data, like.shape());
    }

    static void checkSameShape(Tensor a, Tensor b, String op) {
        if (!Arrays.equals(a.shape(), b.shape()))
            throw new IllegalArgumentException("scheduler " + op + ": shapes differ, " + a.describe() + " vs " + b.describe());
    }

    static void checkSameLength(float[] a, float[] b, String op) {
        if (a.length != b.length)
            throw new IllegalArgumentException("scheduler " + op + ": " + a.length + " vs " + b.length + " elements");
    }
}
