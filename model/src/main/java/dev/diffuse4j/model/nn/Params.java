package dev.diffuse4j.model.nn;

import dev.diffuse4j.runtime.Tensor;

/** A {@link ParamStore} seen under a name prefix: {@code p.at("down_blocks").at(0).at("resnets")}. */
public record Params(ParamStore store, String prefix) {
    public static Params root(ParamStore store) { return new Params(store, ""); }

    public Params at(String name) { return new Params(store, prefix + name + "."); }

    public Params at(int index) { return at(Integer.toString(index)); }

    public Tensor get(String name, int... shape) { return store.param(prefix + name, shape); }

    /** The full name of a parameter under this prefix. */
    public String name(String name) { return prefix + name; }
}
