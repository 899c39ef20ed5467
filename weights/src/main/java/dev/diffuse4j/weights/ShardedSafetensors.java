package dev.diffuse4j.weights;

import com.fasterxml.jackson.databind.JsonNode;
import dev.diffuse4j.runtime.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A checkpoint split over several safetensors files, as described by a {@code *.safetensors.index.json}
 * ({@code {"metadata": {...}, "weight_map": {"tensor name": "shard file name", ...}}}). Every shard
 * is opened (and validated) up front; the index must agree with the shards: each listed tensor is in
 * the shard it names, no tensor is in two shards, and shard names stay inside the index's folder.
 * Tensors a shard holds but the index does not list are still served (the data is there).
 */
public final class ShardedSafetensors implements TensorSource {
    private final Path index;
    private final Map<String, SafetensorsFile> shards;   // file name -> open shard
    private final Map<String, SafetensorsFile> byKey;

    private ShardedSafetensors(Path index, Map<String, SafetensorsFile> shards, Map<String, SafetensorsFile> byKey) {
        this.index = index;
        this.shards = shards;
        this.byKey = byKey;
    }

    public static ShardedSafetensors open(Path index) {
        JsonNode root = Json.readObject(index);
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject())
            throw new WeightsException(index + ": a shard index needs a \"weight_map\" object (tensor name -> shard file)");
        Path dir = index.toAbsolutePath().getParent();

        Map<String, String> listed = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual())
                throw new WeightsException(index + ": weight_map entry \"" + e.getKey() + "\" is " + e.getValue() + ", not a shard file name");
            String shard = e.getValue().textValue();
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.equals("..") || shard.equals("."))
                throw new WeightsException(index + ": weight_map entry \"" + e.getKey() + "\" names shard \"" + shard
                        + "\"; shards must be plain file names in " + dir);
            listed.put(e.getKey(), shard);
        }
        if (listed.isEmpty()) throw new WeightsException(index + ": weight_map is empty");

        Map<String, SafetensorsFile> shards = new TreeMap<>();
        try {
            for (String name : new java.util.TreeSet<>(listed.values())) {
                Path p = dir.resolve(name);
                if (!Files.isRegularFile(p)) {
                    String example = listed.entrySet().stream().filter(e -> e.getValue().equals(name)).findFirst().orElseThrow().getKey();
                    throw new WeightsException(index + " lists shard " + name + " (for \"" + example + "\" and others) but " + p + " does not exist");
                }
                shards.put(name, SafetensorsFile.open(p));
            }
            Map<String, SafetensorsFile> byKey = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : listed.entrySet()) {
                SafetensorsFile f = shards.get(e.getValue());
                if (!f.contains(e.getKey()))
                    throw new WeightsException(index + " says \"" + e.getKey() + "\" is in " + e.getValue() + ", but that shard has no such tensor");
                byKey.put(e.getKey(), f);
            }
            for (Map.Entry<String, SafetensorsFile> s : shards.entrySet()) {
                for (String k : s.getValue().keys()) {
                    SafetensorsFile owner = byKey.get(k);
                    if (owner != null && owner != s.getValue())
                        throw new WeightsException(index + ": tensor \"" + k + "\" is in both " + owner.path().getFileName() + " and " + s.getKey());
                    byKey.putIfAbsent(k, s.getValue());
                }
            }
            return new ShardedSafetensors(index, Collections.unmodifiableMap(shards), byKey);
        } catch (RuntimeException e) {
            shards.values().forEach(SafetensorsFile::close);
            throw e;
        }
    }

    /** The shard files, by name. */
    public List<Path> shardPaths() {
        List<Path> out = new ArrayList<>();
        for (SafetensorsFile f : shards.values()) out.add(f.path());
        return out;
    }

    @Override
    public Set<String> keys() { return Collections.unmodifiableSet(byKey.keySet()); }

    @Override
    public boolean contains(String key) { return byKey.containsKey(key); }

    @Override
    public TensorInfo info(String key) { return shard(key).info(key); }

    @Override
    public Tensor tensor(String key) { return shard(key).tensor(key); }

    private SafetensorsFile shard(String key) {
        SafetensorsFile f = byKey.get(key);
        if (f == null) throw new WeightsException(index + " has no tensor \"" + key + "\"");
        return f;
    }

    @Override
    public String describe() { return index + " (" + shards.size() + " shards)"; }

    @Override
    public void close() {
        shards.values().forEach(SafetensorsFile::close);
    }
}
