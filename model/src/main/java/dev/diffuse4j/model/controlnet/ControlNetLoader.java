package dev.diffuse4j.model.controlnet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.diffuse4j.model.nn.ModelWeights;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.weights.ParamMapping;
import dev.diffuse4j.weights.PickleCheckpoints;
import dev.diffuse4j.weights.SafetensorsFile;
import dev.diffuse4j.weights.ShardedSafetensors;
import dev.diffuse4j.weights.TensorSource;
import dev.diffuse4j.weights.WeightsException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;

/**
 * Loads a ControlNet from a diffusers ControlNetModel folder ({@code config.json} and
 * {@code diffusion_pytorch_model[.fp16].safetensors} or a shard index) or from an original
 * single-file checkpoint ({@code control_model.*} keys, config read off the shapes). Every missing,
 * unexpected or mis-shaped key is reported together. The returned model owns the opened file.
 */
public final class ControlNetLoader {
    private ControlNetLoader() {}

    public static ControlNetModel load(Path path, boolean preferFp16, Device device) { return load(path, preferFp16, null, Placement.of(device)); }

    public static ControlNetModel load(Path path, boolean preferFp16, UNetConfig base, Device device) { return load(path, preferFp16, base, Placement.of(device)); }

    /**
     * @param base the UNet it will steer, or null: a single file's config takes what the weights cannot
     *             tell (heads, SDXL time-id width) from it
     * @param at   device, and the storage type of weights and activations
     */
    public static ControlNetModel load(Path path, boolean preferFp16, UNetConfig base, Placement at) {
        if (!Files.exists(path)) throw new WeightsException("ControlNet: no such file or folder: " + path);
        if (Files.isDirectory(path)) return loadFolder(path, preferFp16, at);
        if (PickleCheckpoints.hasPickleExtension(path) || PickleCheckpoints.sniff(path) != null)
            throw PickleCheckpoints.refusal(path, "a ControlNet checkpoint in a pickle");
        TensorSource src = SafetensorsFile.open(path);
        try {
            String prefix = ControlNetConfigInference.prefix(src);
            if (prefix == null) {
                String hint = src.contains("controlnet_cond_embedding.conv_in.weight")
                        ? " (its keys use diffusers names: put it in a folder with the model's config.json)" : "";
                throw new WeightsException(path + " is not an original ControlNet checkpoint: no input_hint_block.0.weight, with or without "
                        + LdmControlNetMapping.PREFIX + hint);
            }
            return fromSingleFile(ControlNetConfigInference.infer(src, prefix, base), src, prefix, at).owning(src);
        } catch (RuntimeException e) {
            closeQuietly(src);
            throw e;
        }
    }

    private static ControlNetModel loadFolder(Path dir, boolean preferFp16, Placement at) {
        if (Files.isRegularFile(dir.resolve("model_index.json")))
            throw new WeightsException(dir + " is a pipeline folder; give the ControlNet's own folder (config.json + diffusion_pytorch_model.safetensors)");
        Path configFile = dir.resolve("config.json");
        if (!Files.isRegularFile(configFile)) throw new WeightsException("ControlNet folder " + dir + " has no config.json");
        ControlNetConfig config;
        try {
            JsonNode n = new ObjectMapper().readTree(Files.readString(configFile));
            String cls = n.path("_class_name").asText("ControlNetModel");
            if (!cls.equals("ControlNetModel"))
                throw new WeightsException(configFile + ": _class_name is " + cls + ", expected ControlNetModel");
            config = ControlNetConfig.fromJson(n);
        } catch (IOException e) {
            throw new WeightsException("cannot read " + configFile + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new WeightsException(configFile + ": " + e.getMessage(), e);
        }
        Path weights = weightsFile(dir, preferFp16);
        TensorSource src = weights.getFileName().toString().endsWith(".json") ? ShardedSafetensors.open(weights) : SafetensorsFile.open(weights);
        try {
            return fromDiffusers(config, src, at).owning(src);
        } catch (RuntimeException e) {
            closeQuietly(src);
            throw e;
        }
    }

    private static Path weightsFile(Path dir, boolean preferFp16) {
        List<String> order = preferFp16 ? List.of(".fp16", "") : List.of("", ".fp16");
        for (String v : order) {
            Path single = dir.resolve("diffusion_pytorch_model" + v + ".safetensors");
            if (Files.isRegularFile(single)) return single;
            Path index = dir.resolve("diffusion_pytorch_model.safetensors.index" + v + ".json");
            if (Files.isRegularFile(index)) return index;
        }
        Path pickle = dir.resolve("diffusion_pytorch_model.bin");
        if (Files.isRegularFile(pickle)) throw PickleCheckpoints.refusal(pickle, "ControlNet weights in a pickle");
        throw new WeightsException("ControlNet folder " + dir + " has no diffusion_pytorch_model[.fp16].safetensors (or shard index)");
    }

    /** From diffusers-named tensors; the source must stay open while the model is used. */
    public static ControlNetModel fromDiffusers(ControlNetConfig config, TensorSource source, Placement at) {
        return load(config, source, ParamMapping.prefixed(""), k -> true, at);
    }

    public static ControlNetModel fromDiffusers(ControlNetConfig config, TensorSource source, Device device) {
        return fromDiffusers(config, source, Placement.of(device));
    }

    public static ControlNetModel fromSingleFile(ControlNetConfig config, TensorSource source, String prefix, Device device) {
        return fromSingleFile(config, source, prefix, Placement.of(device));
    }

    /** From original {@code control_model.*} tensors; the source must stay open while the model is used. */
    public static ControlNetModel fromSingleFile(ControlNetConfig config, TensorSource source, String prefix, Placement at) {
        return load(config, source, new LdmControlNetMapping(config, prefix), k -> k.startsWith(prefix), at);
    }

    private static ControlNetModel load(ControlNetConfig config, TensorSource source, ParamMapping mapping,
                                        Predicate<String> componentKeys, Placement at) {
        ModelWeights.Loaded<ControlNetModel> l = ModelWeights.load(s -> ControlNetModel.build(config, s), source, mapping, componentKeys,
                k -> false, at);
        return l.model().owning(l.weights()).activations(at.activations());
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // the load error is what matters
        }
    }
}
