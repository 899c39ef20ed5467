package dev.diffuse4j.weights;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A diffusers pipeline folder: {@code model_index.json} naming the components, one sub-folder each
 * with its config ({@code config.json}; {@code scheduler_config.json}; {@code tokenizer_config.json})
 * and, for unet/vae/text encoders, safetensors weights: {@code diffusion_pytorch_model.safetensors} or
 * {@code model.safetensors}, their {@code .fp16} variants, or a shard index
 * ({@code *.safetensors.index.json} / {@code *.safetensors.index.fp16.json}).
 * Weights are opened on first use; the folder owns them (see {@link Checkpoint}).
 */
public final class DiffusersFolder implements Checkpoint {
    /** Which weight files to use where a component ships both precisions. */
    public enum Variant {
        /** Only the full-precision files ({@code name.safetensors}). */
        FP32,
        /** Only the {@code .fp16} variant files. */
        FP16,
        /** Full precision where present, else fp16 (the default). */
        PREFER_FP32,
        /** fp16 where present, else full precision. */
        PREFER_FP16;

        List<String> order() {
            return switch (this) {
                case FP32 -> List.of("");
                case FP16 -> List.of("fp16");
                case PREFER_FP32 -> List.of("", "fp16");
                case PREFER_FP16 -> List.of("fp16", "");
            };
        }
    }

    public static final String MODEL_INDEX = "model_index.json";

    private final Path root;
    private final Variant variant;
    private final JsonNode modelIndex;
    private final Map<String, JsonNode> configs = new LinkedHashMap<>();
    private final Map<Component, TensorSource> opened = new EnumMap<>(Component.class);
    private ModelFamily.Detection family;
    private boolean closed;

    private DiffusersFolder(Path root, Variant variant, JsonNode modelIndex) {
        this.root = root;
        this.variant = variant;
        this.modelIndex = modelIndex;
    }

    public static DiffusersFolder open(Path dir) { return open(dir, Variant.PREFER_FP32); }

    public static DiffusersFolder open(Path dir, Variant variant) {
        if (!Files.isDirectory(dir)) throw new WeightsException(dir + " is not a folder");
        Path index = dir.resolve(MODEL_INDEX);
        if (!Files.isRegularFile(index))
            throw new WeightsException(dir + " has no " + MODEL_INDEX + "; a diffusers pipeline folder starts with one");
        return new DiffusersFolder(dir, variant, Json.readObject(index));
    }

    @Override
    public Path path() { return root; }

    @Override
    public String format() { return "diffusers folder"; }

    public Variant variant() { return variant; }

    public JsonNode modelIndex() { return modelIndex; }

    /** The pipeline class named in model_index.json ("StableDiffusionXLPipeline", ...), or "?" */
    public String pipelineClass() { return modelIndex.path("_class_name").asText("?"); }

    /** Components model_index.json lists (with a library and class), in its order. */
    public List<String> listedComponents() {
        List<String> out = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = modelIndex.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            if (e.getKey().startsWith("_") || !v.isArray() || v.size() != 2 || v.get(0).isNull() || v.get(1).isNull()) continue;
            out.add(e.getKey());
        }
        return out;
    }

    /** Listed components whose folder is absent (a partial download, say). */
    public List<String> missingComponents() {
        List<String> out = new ArrayList<>();
        for (String c : listedComponents()) if (!Files.isDirectory(root.resolve(c))) out.add(c);
        return out;
    }

    /** Listed weight-bearing components whose folder exists. */
    @Override
    public Set<Component> components() {
        Set<Component> out = EnumSet.noneOf(Component.class);
        for (String name : listedComponents()) {
            Component c = Component.ofFolder(name);
            if (c != null && Files.isDirectory(root.resolve(name))) out.add(c);
        }
        return Collections.unmodifiableSet(out);
    }

    /** The folder of a listed component. */
    public Path componentDir(String name) {
        if (!listedComponents().contains(name))
            throw new WeightsException(root.resolve(MODEL_INDEX) + " does not list a component \"" + name + "\" (it lists " + listedComponents() + ")");
        Path d = root.resolve(name);
        if (!Files.isDirectory(d)) throw new WeightsException(MODEL_INDEX + " lists " + name + " but the folder " + d + " is missing");
        return d;
    }

    /** A component's config: config.json, or scheduler_config.json / tokenizer_config.json for those. */
    public synchronized JsonNode config(String name) {
        JsonNode c = configs.get(name);
        if (c == null) {
            Path dir = componentDir(name);
            String file = name.startsWith("scheduler") ? "scheduler_config.json" : name.startsWith("tokenizer") ? "tokenizer_config.json" : "config.json";
            Path p = dir.resolve(file);
            if (!Files.isRegularFile(p)) throw new WeightsException("component " + name + " has no " + file + " (looked for " + p + ")");
            c = Json.readObject(p);
            configs.put(name, c);
        }
        return c;
    }

    public JsonNode config(Component c) { return config(c.folderName()); }

    @Override
    public synchronized ModelFamily.Detection family() {
        if (family == null) {
            boolean hasUnet = components().contains(Component.UNET) && Files.isRegularFile(root.resolve("unet/config.json"));
            family = FamilyDetector.fromDiffusers(modelIndex, hasUnet ? config(Component.UNET) : null);
        }
        return family;
    }

    /** The weight files a component would be read from under this folder's variant choice. */
    public synchronized List<Path> weightFiles(Component c) {
        Path f = resolveWeights(c);
        if (!f.getFileName().toString().endsWith(".json")) return List.of(f);
        weights(c); // opens (and validates) the shards once; they stay cached
        return ((ShardedSafetensors) opened.get(c)).shardPaths();
    }

    @Override
    public synchronized TensorSource weights(Component c) {
        if (closed) throw new WeightsException(root + " is closed");
        TensorSource s = opened.get(c);
        if (s == null) {
            Path f = resolveWeights(c);
            s = f.getFileName().toString().endsWith(".json") ? ShardedSafetensors.open(f) : SafetensorsFile.open(f);
            opened.put(c, s);
        }
        return new KeySubset(s, s.keys(), s.describe());
    }

    /** The single file or shard index to read, by the variant order; explains what is there when nothing fits. */
    private Path resolveWeights(Component c) {
        Path dir = componentDir(c.folderName());
        List<String> bases = c.weightsBaseName().equals("model") ? List.of("model", "diffusion_pytorch_model") : List.of("diffusion_pytorch_model", "model");
        for (String v : variant.order()) {
            for (String base : bases) {
                Path single = dir.resolve(v.isEmpty() ? base + ".safetensors" : base + "." + v + ".safetensors");
                if (Files.isRegularFile(single)) return single;
                Path index = dir.resolve(v.isEmpty() ? base + ".safetensors.index.json" : base + ".safetensors.index." + v + ".json");
                if (Files.isRegularFile(index)) return index;
            }
        }
        List<String> present = list(dir);
        if (present.stream().noneMatch(n -> n.endsWith(".safetensors"))) {
            for (String name : present) {
                Path p = dir.resolve(name);
                if (PickleCheckpoints.hasPickleExtension(p))
                    throw PickleCheckpoints.refusal(p, "diffusers " + c.folderName() + " weights in a " + PickleCheckpoints.describeExtension(p));
            }
        }
        String base = bases.get(0);
        String wanted = switch (variant) {
            case FP32 -> base + ".safetensors";
            case FP16 -> base + ".fp16.safetensors";
            default -> base + ".safetensors or " + base + ".fp16.safetensors";
        };
        throw new WeightsException("no " + c.folderName() + " weights for variant " + variant + " in " + dir + ": expected " + wanted
                + " (or a .safetensors.index" + (variant == Variant.FP16 ? ".fp16" : "") + ".json shard index); the folder holds " + present);
    }

    private static List<String> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new WeightsException("cannot list " + dir + ": " + e, e);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        opened.values().forEach(TensorSource::close);
        opened.clear();
    }

    @Override
    public String toString() { return "DiffusersFolder(" + root + ", " + variant + ")"; }
}
