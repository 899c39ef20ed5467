package dev.diffuse4j.attention.guidance;

/**
 * The attention maps of one image that the guidance losses read, averaged over heads and over the
 * layers at the guidance resolution (16x16 for SD1.x at 512 px).
 *
 * @param height grid height (h)
 * @param width  grid width (w)
 * @param tokens text tokens of the cross-attention (77 for CLIP)
 * @param cross  cross-attention probabilities [h*w, tokens], row-major
 * @param self   self-attention probabilities [h*w, h*w], row-major (query pixel, key pixel)
 */
public record GuidanceMaps(int height, int width, int tokens, double[] cross, double[] self) {
    public GuidanceMaps {
        int n = height * width;
        if (height < 2 || width < 2) throw new IllegalArgumentException("guidance maps need a grid of at least 2x2, got " + height + "x" + width);
        if (cross.length != n * tokens)
            throw new IllegalArgumentException("cross-attention map has " + cross.length + " values, expected " + n + " pixels x " + tokens + " tokens");
        if (self.length != n * n)
            throw new IllegalArgumentException("self-attention map has " + self.length + " values, expected " + n + "x" + n);
    }

    public int pixels() { return height * width; }
}
