package dev.diffuse4j.model.vae;

import dev.diffuse4j.weights.KeyShapes;
import dev.diffuse4j.weights.TensorSource;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Reads a VAE config off a single-file (LDM) checkpoint's keys and shapes: widths per level, layers
 * per block, latent and image channels, from the encoder or, when it is absent, the decoder. The
 * scaling factor is not in the weights (SD1.5 0.18215, SDXL 0.13025): the caller supplies it.
 */
public final class VaeConfigInference {
    private VaeConfigInference() {}

    public static VaeConfig infer(TensorSource src, String prefix, float scalingFactor, int sampleSize) {
        boolean enc = src.contains(prefix + "encoder.conv_in.weight"), dec = src.contains(prefix + "decoder.conv_in.weight");
        if (!enc && !dec) throw new IllegalArgumentException(src.describe() + ": no VAE under " + prefix + " (neither encoder.conv_in nor decoder.conv_in)");
        KeyShapes k = new KeyShapes(src, prefix, "VAE");
        List<Integer> channels = new ArrayList<>();
        int layers, inChannels = 3, outChannels = 3, latent;
        if (enc) {
            TreeSet<Integer> levels = k.consecutive("encoder.down.");
            for (int i : levels) channels.add(k.need("encoder.down." + i + ".block.0.conv1.weight", -1)[0]);
            layers = k.consecutive("encoder.down.0.block.").size();
            inChannels = k.need("encoder.conv_in.weight", -1)[1];
            latent = k.need("encoder.conv_out.weight", -1)[0] / 2;
        } else {
            TreeSet<Integer> levels = k.consecutive("decoder.up.");
            for (int i : levels) channels.add(k.need("decoder.up." + i + ".block.0.conv2.weight", -1)[0]);
            layers = k.consecutive("decoder.up.0.block.").size() - 1;
            latent = k.need("decoder.conv_in.weight", -1)[1];
        }
        if (dec) outChannels = k.need("decoder.conv_out.weight", -1)[0];
        return new VaeConfig(inChannels, outChannels, latent, channels, layers, 32, sampleSize, scalingFactor, true, true, true, true);
    }
}
