package dev.diffuse4j.model.vae;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.weights.ParamMapping;
import dev.diffuse4j.weights.ParamSpec;
import dev.diffuse4j.weights.ParamTransform;
import dev.diffuse4j.weights.TensorInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where each VAE parameter (diffusers name) lives in a single-file LDM/SGM checkpoint, under
 * {@code first_stage_model.}: {@code encoder.down.i.block.j}, {@code decoder.up.i.block.j} with
 * the decoder's up blocks numbered from the HIGHEST resolution (diffusers up_blocks.i is LDM
 * up.(n-1-i)), {@code mid.block_1/attn_1/block_2}, {@code norm_out}, {@code nin_shortcut}. The mid
 * attention's q/k/v/proj_out are stored as 1x1 conv weights [C, C, 1, 1] and reshaped to [C, C].
 */
public final class LdmVaeMapping implements ParamMapping {
    public static final String PREFIX = "first_stage_model.";

    private static final Pattern BLOCK = Pattern.compile("(encoder|decoder)\\.(down_blocks|up_blocks)\\.(\\d+)\\.(resnets|downsamplers|upsamplers)\\.(\\d+)\\.(.+)");
    private static final Pattern MID = Pattern.compile("(encoder|decoder)\\.mid_block\\.(resnets|attentions)\\.(\\d+)\\.(.+)");

    private final VaeConfig config;
    private final String prefix;

    public LdmVaeMapping(VaeConfig config, String prefix) {
        this.config = config;
        this.prefix = prefix;
    }

    public LdmVaeMapping(VaeConfig config) { this(config, PREFIX); }

    @Override
    public Mapped map(ParamSpec param) {
        String name = param.name();
        int[] shape = param.shape();
        String key = prefix + ldmName(name);
        if (name.contains(".mid_block.attentions.0.to_") && name.endsWith(".weight") && shape.length == 2)
            return new Mapped(key, new int[]{shape[0], shape[1], 1, 1}, ParamTransform.RESHAPE);
        return Mapped.same(key, shape);
    }

    /** Every tensor a checkpoint of this VAE part holds (key with prefix, shape), in the model's order. */
    public static List<TensorInfo> checkpointTensors(VaeConfig config, AutoencoderKL.Part part, String prefix) {
        LdmVaeMapping m = new LdmVaeMapping(config, prefix);
        List<TensorInfo> out = new ArrayList<>();
        for (ParamSpec p : AutoencoderKL.parameters(config, part)) {
            Mapped k = m.map(p);
            out.add(new TensorInfo(k.sourceKey(), DType.F32, k.sourceShape()));
        }
        return out;
    }

    /** The LDM name (without prefix) of a diffusers VAE parameter name. */
    public String ldmName(String name) {
        for (String same : new String[]{"quant_conv.", "post_quant_conv.", "encoder.conv_in.", "encoder.conv_out.", "decoder.conv_in.", "decoder.conv_out."})
            if (name.startsWith(same)) return name;
        for (String part : new String[]{"encoder.", "decoder."})
            if (name.startsWith(part + "conv_norm_out.")) return part + "norm_out." + name.substring((part + "conv_norm_out.").length());
        Matcher m = BLOCK.matcher(name);
        if (m.matches()) {
            String part = m.group(1), blocks = m.group(2), kind = m.group(4), rest = m.group(6);
            int i = Integer.parseInt(m.group(3)), j = Integer.parseInt(m.group(5));
            boolean enc = part.equals("encoder");
            if (enc == blocks.equals("down_blocks")) {
                String block = enc ? part + ".down." + i : part + ".up." + (config.levels() - 1 - i);
                switch (kind) {
                    case "resnets": return block + ".block." + j + "." + resnet(rest);
                    case "downsamplers":
                        if (enc && j == 0) return block + ".downsample." + rest;
                        break;
                    case "upsamplers":
                        if (!enc && j == 0) return block + ".upsample." + rest;
                        break;
                    default: break;
                }
            }
            throw unknown(name);
        }
        m = MID.matcher(name);
        if (m.matches()) {
            String part = m.group(1), kind = m.group(2), rest = m.group(4);
            int i = Integer.parseInt(m.group(3));
            if (kind.equals("resnets") && i <= 1) return part + ".mid.block_" + (i + 1) + "." + resnet(rest);
            if (kind.equals("attentions") && i == 0) {
                String[][] renames = {{"group_norm.", "norm."}, {"to_q.", "q."}, {"to_k.", "k."}, {"to_v.", "v."}, {"to_out.0.", "proj_out."}};
                for (String[] r : renames) if (rest.startsWith(r[0])) return part + ".mid.attn_1." + r[1] + rest.substring(r[0].length());
            }
        }
        throw unknown(name);
    }

    private static String resnet(String rest) {
        return rest.startsWith("conv_shortcut.") ? "nin_shortcut." + rest.substring("conv_shortcut.".length()) : rest;
    }

    private static IllegalArgumentException unknown(String name) {
        return new IllegalArgumentException("VAE parameter " + name + " has no LDM single-file key");
    }
}
