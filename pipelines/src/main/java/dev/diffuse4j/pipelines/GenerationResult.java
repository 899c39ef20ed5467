package dev.diffuse4j.pipelines;

import dev.diffuse4j.pipelines.image.RgbImage;

import java.util.List;
import java.util.Map;

/**
 * Images of one request, the parameters line written into each PNG (the "parameters" text chunk
 * convention), and seconds per phase.
 */
public record GenerationResult(List<RgbImage> images, String parameters, Map<String, Double> seconds) {
    public GenerationResult {
        images = List.copyOf(images);
        seconds = Map.copyOf(seconds);
    }
}
