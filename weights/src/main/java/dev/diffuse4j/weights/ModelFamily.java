package dev.diffuse4j.weights;

/** Which pipeline a checkpoint belongs to, as far as its keys, shapes or configs tell. */
public enum ModelFamily {
    SD15("Stable Diffusion 1.5"),
    SDXL_BASE("Stable Diffusion XL base"),
    UNKNOWN("unknown");

    private final String displayName;

    ModelFamily(String displayName) { this.displayName = displayName; }

    public String displayName() { return displayName; }

    /** A family and the facts it was recognised by (or why none was). */
    public record Detection(ModelFamily family, String evidence) {
        @Override
        public String toString() { return family.displayName() + " (" + evidence + ")"; }
    }
}
