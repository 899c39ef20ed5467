package dev.diffuse4j.model.goldens;

import dev.diffuse4j.weights.DeterministicWeights;
import dev.diffuse4j.weights.SafetensorsFile;
import dev.diffuse4j.weights.TensorInfo;
import dev.diffuse4j.weights.TensorSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Where a golden case's weights come from: the shipped {@code CASE.weights.safetensors} when the
 * manifest names one, else the deterministic rule of WEIGHTS.md generated over the checkpoint keys
 * and shapes our own single-file mapping produces (so a wrong key or shape gives wrong numbers).
 */
public final class GoldenWeights {
    private GoldenWeights() {}

    /** The key prefix the case's weights use ("model.diffusion_model.", "first_stage_model."). */
    public static String prefix(GoldenCase gc, String dflt) {
        return gc.json().path("weights").path("prefix").asText(dflt);
    }

    /** @param expected the checkpoint tensors our mapping expects (used when no file is shipped) */
    public static TensorSource open(GoldenCase gc, List<TensorInfo> expected) {
        String file = gc.json().path("weights").path("file").asText("");
        if (!file.isEmpty()) {
            Path p = gc.file(file);
            if (Files.exists(p)) return SafetensorsFile.open(p);
        }
        return new DeterministicWeights(expected);
    }
}
