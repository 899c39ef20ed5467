package dev.diffuse4j.model.vae;

import dev.diffuse4j.weights.TensorSource;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
        List<Integer> channels = new ArrayList<>();
        int layers, inChannels = 3, outChannels = 3, latent;
        if (enc) {
            TreeSet<Integer> levels = indices(src, prefix + "encoder.down.");
            for (int i : levels) channels.add(shape(src, prefix + "encoder.down." + i + ".block.0.conv1.weight")[0]);
            layers = indices(src, prefix + "encoder.down.0.block.").size();
            inChannels = shape(src, prefix + "encoder.conv_in.weight")[1];
            latent = shape(src, prefix + "encoder.conv_out.weight")[0] / 2;
        } else {
            TreeSet<Integer> levels = indices(src, prefix + "decoder.up.");
            for (int i : levels) channels.add(shape(src, prefix + "decoder.up." + i + ".block.0.conv2.weight")[0]);
            layers = indices(src, prefix + "decoder.up.0.block.").size() - 1;
            latent = shape(src, prefix + "decoder.conv_in.weight")[1];
        }
        if (dec) outChannels = shape(src, prefix + "decoder.conv_out.weight")[0];
        return new VaeConfig(inChannels, outChannels, latent, channels, layers, 32, sampleSize, scalingFactor, true, true, true, true);
    }

    private static int[] shape(TensorSource src, String key) {
        if (!src.contains(key)) throw new IllegalArgumentException(src.describe() + ": VAE key " + key + " is missing");
        return src.info(key).shape();
    }

    /** The integers i with keys "<base><i>.*". */
    private static TreeSet<Integer> indices(TensorSource src, String base) {
        Pattern p = Pattern.compile(Pattern.quote(base) + "(\\d+)\\..*");
        TreeSet<Integer> out = new TreeSet<>();
        for (String k : src.keys()) {
            Matcher m = p.matcher(k);
            if (m.matches()) out.add(Integer.parseInt(m.group(1)));
        }
        if (out.isEmpty()) throw new IllegalArgumentException(src.describe() + ": no keys under " + base);
        if (out.last() != out.size() - 1) throw new IllegalArgumentException(src.describe() + ": indices under " + base + " are not 0.." + (out.size() - 1) + ": " + out);
        return out;
    }
}
