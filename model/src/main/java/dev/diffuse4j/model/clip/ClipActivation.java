package dev.diffuse4j.model.clip;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.Arrays;
import java.util.List;

/** The MLP activation of a CLIP text encoder, by its transformers {@code hidden_act} name(s). */
public enum ClipActivation {
    /** x * sigmoid(1.702 x): OpenAI CLIP ViT-L/14. */
    QUICK_GELU("quick_gelu"),
    /** Exact erf GELU: OpenCLIP ViT-bigG/14. */
    GELU("gelu"),
    /** Tanh-approximated GELU. */
    GELU_TANH("gelu_new", "gelu_pytorch_tanh");

    private final List<String> names;

    ClipActivation(String... names) { this.names = List.of(names); }

    public Tensor apply(Tensor x) {
        return switch (this) {
            case QUICK_GELU -> Ops.quickGelu(x);
            case GELU -> Ops.gelu(x);
            case GELU_TANH -> Ops.geluTanh(x);
        };
    }

    /** The transformers name ("quick_gelu", "gelu", ...). */
    public String configName() { return names.getFirst(); }

    public static ClipActivation fromConfigName(String name) {
        for (ClipActivation a : values()) if (a.names.contains(name)) return a;
        throw new IllegalArgumentException("hidden_act \"" + name + "\" is not supported (known: "
                + Arrays.stream(values()).flatMap(a -> a.names.stream()).toList() + ")");
    }
}
