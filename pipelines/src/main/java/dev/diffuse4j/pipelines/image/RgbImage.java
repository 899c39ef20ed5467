package dev.diffuse4j.pipelines.image;

/** 8-bit RGB pixels, row-major, 3 bytes per pixel. */
public record RgbImage(int width, int height, byte[] rgb) {
    public RgbImage {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        if (rgb.length != (long) width * height * 3)
            throw new IllegalArgumentException("RGB buffer of " + rgb.length + " bytes does not match " + width + "x" + height);
    }

    public int red(int x, int y) { return rgb[(y * width + x) * 3] & 0xFF; }

    public int green(int x, int y) { return rgb[(y * width + x) * 3 + 1] & 0xFF; }

    public int blue(int x, int y) { return rgb[(y * width + x) * 3 + 2] & 0xFF; }
}
