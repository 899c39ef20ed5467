package dev.diffuse4j.model.goldens;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;

/** One case of a goldens folder's manifest.json, with the folder its files live in. */
public record GoldenCase(Path dir, JsonNode json) {
    public String name() { return json.path("name").asText(); }

    public String kind() { return json.path("kind").asText(); }

    public double tolMaxAbs() { return json.path("tol_max_abs").asDouble(Double.NaN); }

    public double tolRelL2() { return json.path("tol_rel_l2").asDouble(Double.NaN); }

    /** A file of this case, relative to the goldens folder. */
    public Path file(String relative) { return dir.resolve(relative); }
}
