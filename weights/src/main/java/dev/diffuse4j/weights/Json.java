package dev.diffuse4j.weights;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one JSON reader of this module: strict (duplicate keys and trailing content are errors) and
 * bounded (nesting depth, string and number lengths), so hostile headers fail fast and cleanly.
 */
final class Json {
    /** Real safetensors headers and diffusers configs nest 3-4 levels; anything deeper is refused. */
    static final int MAX_DEPTH = 64;

    static final ObjectMapper MAPPER = JsonMapper.builder(new com.fasterxml.jackson.core.JsonFactoryBuilder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNestingDepth(MAX_DEPTH)
                            .maxNumberLength(64)
                            .maxStringLength(SafetensorsHeader.MAX_HEADER_BYTES)
                            .build())
                    .build())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private Json() {}

    /** Parses text; the exception's message is Jackson's (with line/column), the caller adds the file. */
    static JsonNode parse(String text) throws JsonProcessingException {
        return MAPPER.readTree(text);
    }

    /** Reads a small JSON file (config, index); failures name the file. */
    static JsonNode read(Path file) {
        String text;
        try {
            long size = Files.size(file);
            if (size > 64L << 20) throw new WeightsException(file + ": " + size + " bytes is too large for a JSON config (limit 64 MiB)");
            text = Files.readString(file);
        } catch (IOException e) {
            throw new WeightsException("cannot read " + file + ": " + e, e);
        }
        try {
            return parse(text);
        } catch (JsonProcessingException e) {
            throw new WeightsException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** Reads a JSON file that must hold an object. */
    static JsonNode readObject(Path file) {
        JsonNode n = read(file);
        if (n == null || !n.isObject()) throw new WeightsException(file + " must hold a JSON object, found " + (n == null ? "nothing" : n.getNodeType()));
        return n;
    }
}
