package dev.diffuse4j.pipelines.hub;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which files of a diffusers repo a pipeline needs: model_index.json, every component's configs,
 * tokenizer files, and safetensors weights — per component the fp16 variant when asked for and
 * present, else the full-precision files (sharded index files included). Pickled weights
 * (.bin/.ckpt) and files below the component level (e.g. onnx exports) are never fetched.
 */
public final class DiffusersFiles {
    private DiffusersFiles() {}

    public static Set<String> select(List<String> files, boolean preferFp16) {
        Set<String> out = new LinkedHashSet<>();
        for (String path : files) {
            String[] parts = path.split("/");
            if (path.equals("model_index.json")) out.add(path);
            if (parts.length != 2) continue;
            String name = parts[1];
            if (isWeights(name)) continue;
            if (name.endsWith(".json") || name.equals("merges.txt")) out.add(path);
        }
        for (String component : components(files)) {
            List<String> weights = files.stream().filter(f -> f.startsWith(component + "/") && f.split("/").length == 2 && isWeights(f)).toList();
            List<String> half = weights.stream().filter(f -> f.contains(".fp16.")).toList();
            List<String> full = weights.stream().filter(f -> !f.contains(".fp16.")).toList();
            out.addAll(preferFp16 && !half.isEmpty() ? half : full.isEmpty() ? half : full);
        }
        return out;
    }

    private static boolean isWeights(String name) {
        return name.endsWith(".safetensors") || name.endsWith(".safetensors.index.json");
    }

    private static Set<String> components(List<String> files) {
        Set<String> c = new LinkedHashSet<>();
        for (String f : files) if (f.split("/").length == 2) c.add(f.substring(0, f.indexOf('/')));
        return c;
    }
}
