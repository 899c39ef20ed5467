package dev.diffuse4j.weights;

import dev.diffuse4j.runtime.DType;

import java.util.Arrays;

/** What a checkpoint says about one tensor, before any data is touched. */
public record TensorInfo(String key, DType dtype, int[] shape) {
    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public int[] shape() { return shape.clone(); }

    public long numel() {
        long n = 1;
        for (int s : shape) n *= s;
        return n;
    }

    @Override
    public String toString() { return key + " " + dtype + Arrays.toString(shape); }
}
