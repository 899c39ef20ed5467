package dev.diffuse4j.model.controlnet;

import dev.diffuse4j.model.unet.LdmUNetMapping;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.weights.ParamMapping;
import dev.diffuse4j.weights.ParamSpec;
import dev.diffuse4j.weights.TensorInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where each ControlNet parameter (diffusers name) lives in an original ControlNet checkpoint
 * ({@code control_model.*}, lllyasviel / SGM naming). The copied encoder uses the UNet's LDM names
 * ({@link LdmUNetMapping}); the ControlNet's own parts are renamed:
 * <pre>
 *   controlnet_cond_embedding.conv_in   input_hint_block.0
 *   controlnet_cond_embedding.blocks.j  input_hint_block.(2 + 2j)      (SiLUs sit at the odd indices)
 *   controlnet_cond_embedding.conv_out  input_hint_block.(2 + 2 * blocks)
 *   controlnet_down_blocks.k            zero_convs.k.0
 *   controlnet_mid_block                middle_block_out.0
 * </pre>
 */
public final class LdmControlNetMapping implements ParamMapping {
    /** The prefix of lllyasviel's checkpoints; some conversions store the keys without it. */
    public static final String PREFIX = "control_model.";

    private static final Pattern BLOCK = Pattern.compile("controlnet_cond_embedding\\.blocks\\.(\\d+)\\.(.+)");
    private static final Pattern ZERO = Pattern.compile("controlnet_down_blocks\\.(\\d+)\\.(.+)");

    private final LdmUNetMapping unet;
    private final String prefix;
    private final int hintBlocks;

    public LdmControlNetMapping(ControlNetConfig config, String prefix) {
        this.unet = new LdmUNetMapping(config.unet(), prefix);
        this.prefix = prefix;
        this.hintBlocks = 2 * (config.embeddingChannels().size() - 1);
    }

    @Override
    public Mapped map(ParamSpec param) { return Mapped.same(prefix + ldmName(param.name()), param.shape()); }

    /** The original name (without prefix) of a diffusers ControlNet parameter name. */
    public String ldmName(String name) {
        String emb = "controlnet_cond_embedding.";
        if (name.startsWith(emb + "conv_in.")) return "input_hint_block.0." + name.substring((emb + "conv_in.").length());
        if (name.startsWith(emb + "conv_out.")) return "input_hint_block." + (2 + 2 * hintBlocks) + "." + name.substring((emb + "conv_out.").length());
        Matcher m = BLOCK.matcher(name);
        if (m.matches()) return "input_hint_block." + (2 + 2 * Integer.parseInt(m.group(1))) + "." + m.group(2);
        m = ZERO.matcher(name);
        if (m.matches()) return "zero_convs." + m.group(1) + ".0." + m.group(2);
        if (name.startsWith("controlnet_mid_block.")) return "middle_block_out.0." + name.substring("controlnet_mid_block.".length());
        return unet.ldmName(name);
    }

    /** Every tensor an original checkpoint of this config holds (key with prefix, shape), in the model's order. */
    public static List<TensorInfo> checkpointTensors(ControlNetConfig config, String prefix) {
        LdmControlNetMapping m = new LdmControlNetMapping(config, prefix);
        List<TensorInfo> out = new ArrayList<>();
        for (ParamSpec p : ControlNetModel.parameters(config)) {
            Mapped k = m.map(p);
            out.add(new TensorInfo(k.sourceKey(), DType.F32, k.sourceShape()));
        }
        return out;
    }
}
