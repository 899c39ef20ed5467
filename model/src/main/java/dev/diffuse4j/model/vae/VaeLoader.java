package dev.diffuse4j.model.vae;

import dev.diffuse4j.model.nn.ModelWeights;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.weights.ParamMapping;
import dev.diffuse4j.weights.TensorSource;

import java.util.function.Predicate;

/**
 * Loads an AutoencoderKL (or one half of it). The model may hold views into the source's mapped
 * data: keep the source open while it is used, and close the model first.
 */
public final class VaeLoader {
    private VaeLoader() {}

    /** From a diffusers {@code vae/} tensor set; keys of the half not loaded are ignored. */
    public static AutoencoderKL fromDiffusers(VaeConfig config, TensorSource source, AutoencoderKL.Part part, Device device) {
        return load(config, source, part, ParamMapping.prefixed(""), k -> belongs(k, part), device);
    }

    /** From a single-file LDM/SGM checkpoint (keys under {@code first_stage_model.}). */
    public static AutoencoderKL fromSingleFile(VaeConfig config, TensorSource source, AutoencoderKL.Part part, Device device) {
        String prefix = LdmVaeMapping.PREFIX;
        return load(config, source, part, new LdmVaeMapping(config, prefix),
                k -> k.startsWith(prefix) && belongs(k.substring(prefix.length()), part), device);
    }

    public static AutoencoderKL load(VaeConfig config, TensorSource source, AutoencoderKL.Part part, ParamMapping mapping,
                                     Predicate<String> componentKeys, Device device) {
        ModelWeights.Loaded<AutoencoderKL> l = ModelWeights.load(s -> AutoencoderKL.build(config, s, part), source, mapping,
                componentKeys, k -> false, device);
        return l.model().owning(l.weights());
    }

    /** Whether a key (without prefix) belongs to the requested half. */
    private static boolean belongs(String key, AutoencoderKL.Part part) {
        boolean enc = key.startsWith("encoder.") || key.startsWith("quant_conv.");
        boolean dec = key.startsWith("decoder.") || key.startsWith("post_quant_conv.");
        return switch (part) {
            case BOTH -> enc || dec;
            case ENCODER -> enc;
            case DECODER -> dec;
        };
    }
}
