package dev.diffuse4j.model.goldens;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.diffuse4j.weights.TensorInfo;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** The shared goldens folder ({@code d4j.shared}/goldens); tests that need it skip, with the reason, when it is absent. */
public final class SharedGoldens {
    private SharedGoldens() {}

    public static Path dir() {
        String root = System.getProperty("d4j.shared");
        Assumptions.assumeTrue(root != null, "system property d4j.shared is not set");
        Path p = Path.of(root, "goldens");
        Assumptions.assumeTrue(Files.isRegularFile(p.resolve("manifest.json")), "no goldens at " + p + " (d4j.shared=" + root + ")");
        return p;
    }

    public static Path file(String name) {
        Path p = dir().resolve(name);
        Assumptions.assumeTrue(Files.isRegularFile(p), "golden file " + p + " is absent");
        return p;
    }

    /** A file under {@code d4j.shared} (outside goldens/). */
    public static Path shared(String relative) {
        String root = System.getProperty("d4j.shared");
        Assumptions.assumeTrue(root != null, "system property d4j.shared is not set");
        Path p = Path.of(root, relative);
        Assumptions.assumeTrue(Files.isRegularFile(p), "shared file " + p + " is absent");
        return p;
    }

    /** The keys and shapes of a CASE.weight_checks.json, in file order. */
    public static List<TensorInfo> weightChecks(String file) throws IOException {
        JsonNode n = new ObjectMapper().readTree(file(file).toFile());
        List<TensorInfo> out = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode s = e.getValue().path("shape");
            int[] shape = new int[s.size()];
            for (int i = 0; i < shape.length; i++) shape[i] = s.get(i).asInt();
            out.add(new TensorInfo(e.getKey(), dev.diffuse4j.runtime.DType.F32, shape));
        }
        return out;
    }

    /** The manifest entry of a case. */
    public static GoldenCase golden(String name) throws IOException {
        for (GoldenCase c : Goldens.cases(dir())) if (c.name().equals(name)) return c;
        throw new AssertionError("no case " + name + " in " + dir());
    }
}
