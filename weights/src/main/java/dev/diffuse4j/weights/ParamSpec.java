package dev.diffuse4j.weights;

import java.util.Arrays;

/** A parameter a model expects: its name in the model (diffusers naming) and shape. */
public record ParamSpec(String name, int[] shape) {
    public ParamSpec {
        shape = shape.clone();
    }

    @Override
    public int[] shape() { return shape.clone(); }

    @Override
    public String toString() { return name + Arrays.toString(shape); }
}
