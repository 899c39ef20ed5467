package dev.diffuse4j.model.vae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The hyper-parameters of an AutoencoderKL, named as in a diffusers {@code vae/config.json}.
 *
 * @param scalingFactor latents = z * scalingFactor (SD1.5 0.18215, the default when absent; SDXL 0.13025)
 * @param forceUpcast   decode in F32 even when the weights are F16 (the SDXL VAE overflows in F16)
 */
public record VaeConfig(int inChannels, int outChannels, int latentChannels, List<Integer> blockOutChannels,
                        int layersPerBlock, int normNumGroups, int sampleSize, float scalingFactor, boolean forceUpcast,
                        boolean useQuantConv, boolean usePostQuantConv, boolean midBlockAddAttention) {
    public static final String DOWN = "DownEncoderBlock2D", UP = "UpDecoderBlock2D";
    /** Every GroupNorm of the VAE (resnets, mid attention, conv_norm_out). */
    public static final float NORM_EPS = 1e-6f;

    public static final VaeConfig SD15 = new VaeConfig(3, 3, 4, List.of(128, 256, 512, 512), 2, 32, 512, 0.18215f, true, true, true, true);
    public static final VaeConfig SDXL = new VaeConfig(3, 3, 4, List.of(128, 256, 512, 512), 2, 32, 1024, 0.13025f, true, true, true, true);

    public VaeConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        if (blockOutChannels.isEmpty()) throw new IllegalArgumentException("VAE config: block_out_channels is empty");
        positive("in_channels", inChannels);
        positive("out_channels", outChannels);
        positive("latent_channels", latentChannels);
        positive("layers_per_block", layersPerBlock);
        positive("norm_num_groups", normNumGroups);
        for (int i = 0; i < blockOutChannels.size(); i++) {
            int c = blockOutChannels.get(i);
            positive("block_out_channels[" + i + "]", c);
            if (c % normNumGroups != 0)
                throw new IllegalArgumentException("VAE config: block_out_channels[" + i + "] = " + c + " is not divisible by norm_num_groups = " + normNumGroups);
        }
        if (!(scalingFactor > 0)) throw new IllegalArgumentException("VAE config: scaling_factor = " + scalingFactor + " must be > 0");
        if (!useQuantConv || !usePostQuantConv)
            throw new IllegalArgumentException("unsupported VAE config: use_quant_conv / use_post_quant_conv must be true (SD1.x/SDXL)");
        if (!midBlockAddAttention) throw new IllegalArgumentException("unsupported VAE config: mid_block_add_attention = false");
    }

    public int levels() { return blockOutChannels.size(); }

    public int channels(int level) { return blockOutChannels.get(level); }

    /** Image size / latent size. */
    public int downscale() { return 1 << (levels() - 1); }

    public static VaeConfig read(Path configJson) throws IOException {
        try {
            return fromJson(new ObjectMapper().readTree(Files.readString(configJson)));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(configJson + ": " + e.getMessage(), e);
        }
    }

    /** Parses a diffusers vae/config.json; absent keys take diffusers' defaults. */
    public static VaeConfig fromJson(JsonNode n) {
        List<Integer> channels = new ArrayList<>();
        JsonNode ch = n.get("block_out_channels");
        if (ch == null || ch.isNull()) channels.add(64);
        else for (JsonNode e : ch) channels.add(e.asInt());
        checkTypes(n, "down_block_types", DOWN, channels.size());
        checkTypes(n, "up_block_types", UP, channels.size());
        String act = n.path("act_fn").asText("silu");
        if (!act.equals("silu")) throw new IllegalArgumentException("unsupported VAE config: act_fn = " + act);
        for (String k : List.of("shift_factor", "latents_mean", "latents_std"))
            if (n.hasNonNull(k)) throw new IllegalArgumentException("unsupported VAE config: " + k + " = " + n.get(k) + " (only null is supported)");
        return new VaeConfig(n.path("in_channels").asInt(3), n.path("out_channels").asInt(3), n.path("latent_channels").asInt(4),
                channels, n.path("layers_per_block").asInt(1), n.path("norm_num_groups").asInt(32), n.path("sample_size").asInt(32),
                (float) (n.hasNonNull("scaling_factor") ? n.get("scaling_factor").asDouble() : 0.18215),
                n.path("force_upcast").asBoolean(true), n.path("use_quant_conv").asBoolean(true),
                n.path("use_post_quant_conv").asBoolean(true), n.path("mid_block_add_attention").asBoolean(true));
    }

    private static void checkTypes(JsonNode n, String key, String want, int levels) {
        JsonNode t = n.get(key);
        if (t == null || t.isNull()) {
            if (levels != 1) throw new IllegalArgumentException("VAE config: " + key + " is missing");
            return;
        }
        if (t.size() != levels) throw new IllegalArgumentException("VAE config: " + key + " has " + t.size() + " entries, block_out_channels has " + levels);
        for (int i = 0; i < t.size(); i++)
            if (!t.get(i).asText().equals(want))
                throw new IllegalArgumentException("unsupported VAE config: " + key + "[" + i + "] = " + t.get(i).asText() + " (supported: " + want + ")");
    }

    private static void positive(String key, int v) {
        if (v <= 0) throw new IllegalArgumentException("VAE config: " + key + " = " + v + " must be > 0");
    }
}
