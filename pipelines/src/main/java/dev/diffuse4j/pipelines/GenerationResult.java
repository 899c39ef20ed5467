package dev.diffuse4j.pipelines;

import dev.diffuse4j.pipelines.image.RgbImage;

import java.util.List;
import java.util.Map;

/**
 * Images of one request, the parameters text of each (written into its PNG's "parameters" chunk,
 * the convention other tools read), and seconds per phase.
 */
public record GenerationResult(List<RgbImage> images, List<String> imageParameters, Map<String, Double> seconds) {
    public GenerationResult {
        images = List.copyOf(images);
        imageParameters = List.copyOf(imageParameters);
        seconds = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(seconds)); // phase order
        if (images.size() != imageParameters.size()) throw new IllegalArgumentException("one parameters text per image");
    }

    /** The parameters text of the first image. */
    public String parameters() { return imageParameters.get(0); }

    /** The parameters text of image {@code i}. */
    public String parameters(int i) { return imageParameters.get(i); }
}
