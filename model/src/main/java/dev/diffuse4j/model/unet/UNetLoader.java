package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.nn.ModelWeights;
import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.weights.Checkpoint;
import dev.diffuse4j.weights.Component;
import dev.diffuse4j.weights.DiffusersFolder;
import dev.diffuse4j.weights.ParamMapping;
import dev.diffuse4j.weights.SingleFileCheckpoint;
import dev.diffuse4j.weights.TensorSource;

import java.util.function.Predicate;

/**
 * Loads a UNet2DConditionModel from a checkpoint. The model may hold views into the source's
 * memory-mapped data: keep the source open while the model is used, close the model first.
 */
public final class UNetLoader {
    private UNetLoader() {}

    /**
     * The UNet of an opened checkpoint: a diffusers folder's {@code unet/} (config.json and weights,
     * fp16 variants included) or a single file's {@code model.diffusion_model.*} (config inferred).
     * The checkpoint must stay open while the model is used.
     */
    public static UNet2DConditionModel from(Checkpoint checkpoint, Device device) { return from(checkpoint, Placement.of(device)); }

    /** As {@link #from(Checkpoint, Device)}, with weights and hidden states in {@code at}'s types. */
    public static UNet2DConditionModel from(Checkpoint checkpoint, Placement at) {
        return switch (checkpoint) {
            case DiffusersFolder f -> fromDiffusers(UNetConfig.fromJson(f.config(Component.UNET)), f.weights(Component.UNET), at);
            case SingleFileCheckpoint f -> {
                String prefix = f.prefix(Component.UNET);
                TensorSource src = f.weights(Component.UNET);
                UNetConfig c = UNetConfigInference.infer(src, prefix);
                yield load(c, src, new LdmUNetMapping(c, prefix), k -> true, at);
            }
        };
    }

    /** From a diffusers {@code unet/} tensor set (names as in the model). */
    public static UNet2DConditionModel fromDiffusers(UNetConfig config, TensorSource source, Device device) {
        return fromDiffusers(config, source, Placement.of(device));
    }

    public static UNet2DConditionModel fromDiffusers(UNetConfig config, TensorSource source, Placement at) {
        return load(config, source, ParamMapping.prefixed(""), k -> true, at);
    }

    /**
     * From a single-file LDM/SGM checkpoint (keys under {@code model.diffusion_model.}); a null config
     * is inferred from the keys and shapes ({@link UNetConfigInference}).
     */
    public static UNet2DConditionModel fromSingleFile(UNetConfig config, TensorSource source, Device device) {
        return fromSingleFile(config, source, Placement.of(device));
    }

    public static UNet2DConditionModel fromSingleFile(UNetConfig config, TensorSource source, Placement at) {
        String prefix = LdmUNetMapping.PREFIX;
        UNetConfig c = config != null ? config : UNetConfigInference.infer(source, prefix);
        return load(c, source, new LdmUNetMapping(c, prefix), k -> k.startsWith(prefix), at);
    }

    /** Binds every parameter through {@code mapping} (all mismatches reported together) and constructs. */
    public static UNet2DConditionModel load(UNetConfig config, TensorSource source, ParamMapping mapping,
                                            Predicate<String> componentKeys, Placement at) {
        ModelWeights.Loaded<UNet2DConditionModel> l = ModelWeights.load(s -> UNet2DConditionModel.build(config, s),
                source, mapping, componentKeys, k -> false, at);
        return l.model().owning(l.weights()).activations(at.activations());
    }
}
