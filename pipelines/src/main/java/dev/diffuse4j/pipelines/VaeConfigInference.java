package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.vae.VaeConfig;
import dev.diffuse4j.weights.TensorSource;

import java.util.ArrayList;
import java.util.List;

/**
 * A VAE config from a single-file checkpoint's shapes: channels per level from the encoder's (or,
 * without one, the decoder's reversed) first resnet, resnets per level, latent channels. Scaling
 * factor and sample size are not stored in checkpoints: they come from the family.
 */
final class VaeConfigInference {
    private VaeConfigInference() {}

    static VaeConfig infer(TensorSource src, String prefix, float scalingFactor, int sampleSize) {
        List<Integer> channels = new ArrayList<>();
        int layers = 0;
        if (src.contains(prefix + "encoder.down.0.block.0.conv2.weight")) {
            for (int i = 0; src.contains(prefix + "encoder.down." + i + ".block.0.conv2.weight"); i++)
                channels.add(src.info(prefix + "encoder.down." + i + ".block.0.conv2.weight").shape()[0]);
            while (src.contains(prefix + "encoder.down.0.block." + layers + ".conv1.weight")) layers++;
        } else {
            int levels = 0;
            while (src.contains(prefix + "decoder.up." + levels + ".block.0.conv2.weight")) levels++;
            for (int i = levels - 1; i >= 0; i--) // LDM numbers decoder levels from the highest resolution
                channels.add(0, src.info(prefix + "decoder.up." + i + ".block.0.conv2.weight").shape()[0]);
            int blocks = 0;
            while (src.contains(prefix + "decoder.up.0.block." + blocks + ".conv1.weight")) blocks++;
            layers = blocks - 1;
        }
        if (channels.isEmpty() || layers < 1)
            throw new IllegalArgumentException(src.describe() + ": no VAE encoder or decoder blocks under \"" + prefix + "\"");
        String convIn = prefix + "decoder.conv_in.weight";
        int latent = src.contains(convIn) ? src.info(convIn).shape()[1] : src.info(prefix + "encoder.conv_out.weight").shape()[0] / 2;
        boolean quant = src.contains(prefix + "quant_conv.weight") || src.contains(prefix + "post_quant_conv.weight");
        return new VaeConfig(3, 3, latent, channels, layers, 32, sampleSize, scalingFactor, true, quant, quant, true);
    }
}
