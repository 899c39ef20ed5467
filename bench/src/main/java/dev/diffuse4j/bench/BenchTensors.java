package dev.diffuse4j.bench;

import dev.diffuse4j.runtime.Tensor;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Inputs for the kernel benchmarks: seeded uniform [-1, 1) tensors and "AxBxC" size strings. */
public final class BenchTensors {
    private BenchTensors() {}

    public static Tensor uniform(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[Math.toIntExact(Arrays.stream(shape).asLongStream().reduce(1, (a, b) -> a * b))];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return Tensor.of(v, shape);
    }

    /** "4096x320x1280" -> {4096, 320, 1280}. */
    public static int[] dims(String s) {
        return Arrays.stream(s.split("x")).mapToInt(Integer::parseInt).toArray();
    }
}
