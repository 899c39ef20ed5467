package dev.diffuse4j.model.clip;

import dev.diffuse4j.model.nn.Linear;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.runtime.Tensor;

/** fc2(act(fc1(x))). */
record ClipMlp(Linear fc1, Linear fc2, ClipActivation activation) {
    static ClipMlp of(Params p, ClipTextConfig c) {
        return new ClipMlp(Linear.of(p.at("fc1"), c.hiddenSize(), c.intermediateSize(), true),
                Linear.of(p.at("fc2"), c.intermediateSize(), c.hiddenSize(), true), c.activation());
    }

    Tensor forward(Tensor x) { return fc2.forward(activation.apply(fc1.forward(x))); }
}
