package dev.diffuse4j.model.unet;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.weights.ParamMapping;
import dev.diffuse4j.weights.ParamSpec;
import dev.diffuse4j.weights.TensorInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where each UNet parameter (diffusers name) lives in an original single-file LDM/SGM checkpoint:
 * {@code input_blocks.i.j}, {@code middle_block.j}, {@code output_blocks.i.j} under
 * {@code model.diffusion_model.}. Shapes are the same in both layouts (SD1's conv proj_in/out are
 * [C, C, 1, 1] in both), so every transform is the identity.
 */
public final class LdmUNetMapping implements ParamMapping {
    public static final String PREFIX = "model.diffusion_model.";

    private static final Pattern BLOCK = Pattern.compile("(down_blocks|up_blocks)\\.(\\d+)\\.(resnets|attentions|downsamplers|upsamplers)\\.(\\d+)\\.(.+)");
    private static final Pattern MID = Pattern.compile("mid_block\\.(resnets|attentions)\\.(\\d+)\\.(.+)");

    private final UNetConfig config;
    private final String prefix;

    public LdmUNetMapping(UNetConfig config, String prefix) {
        this.config = config;
        this.prefix = prefix;
    }

    public LdmUNetMapping(UNetConfig config) { this(config, PREFIX); }

    @Override
    public Mapped map(ParamSpec param) { return Mapped.same(prefix + ldmName(param.name()), param.shape()); }

    /** Every tensor a checkpoint of this config holds (key with prefix, shape), in the model's order. */
    public static List<TensorInfo> checkpointTensors(UNetConfig config, String prefix) {
        LdmUNetMapping m = new LdmUNetMapping(config, prefix);
        List<TensorInfo> out = new ArrayList<>();
        for (ParamSpec p : UNet2DConditionModel.parameters(config)) {
            Mapped k = m.map(p);
            out.add(new TensorInfo(k.sourceKey(), DType.F32, k.sourceShape()));
        }
        return out;
    }

    /** The LDM name (without prefix) of a diffusers UNet parameter name. */
    public String ldmName(String name) {
        String top = topLevel(name);
        if (top != null) return top;
        int slots = config.layersPerBlock() + 1; // input/output block slots per level
        Matcher m = BLOCK.matcher(name);
        if (m.matches()) {
            boolean down = m.group(1).equals("down_blocks");
            int b = Integer.parseInt(m.group(2)), l = Integer.parseInt(m.group(4));
            String kind = m.group(3), rest = m.group(5);
            if (down) {
                int i = 1 + b * slots + l;
                switch (kind) {
                    case "resnets": return "input_blocks." + i + ".0." + resnet(rest, name);
                    case "attentions": return "input_blocks." + i + ".1." + rest;
                    case "downsamplers":
                        if (l == 0 && rest.startsWith("conv.")) return "input_blocks." + (1 + b * slots + config.layersPerBlock()) + ".0.op." + rest.substring(5);
                        break;
                    default: break;
                }
            } else {
                int i = b * slots + l;
                switch (kind) {
                    case "resnets": return "output_blocks." + i + ".0." + resnet(rest, name);
                    case "attentions": return "output_blocks." + i + ".1." + rest;
                    case "upsamplers":
                        if (l == 0 && rest.startsWith("conv."))
                            return "output_blocks." + (b * slots + config.layersPerBlock()) + "." + (config.upHasAttention(b) ? 2 : 1) + "." + rest;
                        break;
                    default: break;
                }
            }
            throw unknown(name);
        }
        m = MID.matcher(name);
        if (m.matches()) {
            int i = Integer.parseInt(m.group(2));
            String rest = m.group(3);
            if (m.group(1).equals("attentions") && i == 0) return "middle_block.1." + rest;
            if (m.group(1).equals("resnets") && i <= 1) return "middle_block." + (2 * i) + "." + resnet(rest, name);
        }
        throw unknown(name);
    }

    private static String topLevel(String name) {
        String[][] renames = {
                {"conv_in.", "input_blocks.0.0."},
                {"time_embedding.linear_1.", "time_embed.0."}, {"time_embedding.linear_2.", "time_embed.2."},
                {"add_embedding.linear_1.", "label_emb.0.0."}, {"add_embedding.linear_2.", "label_emb.0.2."},
                {"conv_norm_out.", "out.0."}, {"conv_out.", "out.2."}};
        for (String[] r : renames) if (name.startsWith(r[0])) return r[1] + name.substring(r[0].length());
        return null;
    }

    private static String resnet(String rest, String name) {
        String[][] renames = {
                {"norm1.", "in_layers.0."}, {"conv1.", "in_layers.2."}, {"time_emb_proj.", "emb_layers.1."},
                {"norm2.", "out_layers.0."}, {"conv2.", "out_layers.3."}, {"conv_shortcut.", "skip_connection."}};
        for (String[] r : renames) if (rest.startsWith(r[0])) return r[1] + rest.substring(r[0].length());
        throw unknown(name);
    }

    private static IllegalArgumentException unknown(String name) {
        return new IllegalArgumentException("UNet parameter " + name + " has no LDM single-file key");
    }
}
