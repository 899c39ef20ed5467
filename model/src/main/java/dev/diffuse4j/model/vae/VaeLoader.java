package dev.diffuse4j.model.vae;

import dev.diffuse4j.model.nn.ModelWeights;
import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.weights.Checkpoint;
import dev.diffuse4j.weights.Component;
import dev.diffuse4j.weights.DiffusersFolder;
import dev.diffuse4j.weights.ModelFamily;
import dev.diffuse4j.weights.ParamMapping;
import dev.diffuse4j.weights.ParamSpec;
import dev.diffuse4j.weights.SingleFileCheckpoint;
import dev.diffuse4j.weights.TensorSource;

import java.util.function.Predicate;

/**
 * Loads an AutoencoderKL (or one half of it). The model may hold views into the source's mapped
 * data: keep the source open while it is used, and close the model first.
 */
public final class VaeLoader {
    private VaeLoader() {}

    /**
     * The VAE (or one half) of an opened checkpoint: a diffusers folder's {@code vae/}, or a single
     * file's {@code first_stage_model.*} / {@code vae.*} with its shape read off the keys and the
     * scaling factor its family implies (SDXL 0.13025, else SD1.5's 0.18215). The checkpoint must
     * stay open while the model is used.
     */
    public static AutoencoderKL from(Checkpoint checkpoint, AutoencoderKL.Part part, Device device) {
        return from(checkpoint, part, Placement.of(device));
    }

    /**
     * As {@link #from(Checkpoint, AutoencoderKL.Part, Device)}, in {@code at}'s types, except where
     * the checkpoint's pipeline runs its VAE otherwise ({@link #pipelinePlacement}: an SDXL VAE
     * with force_upcast stays F32 under F16).
     */
    public static AutoencoderKL from(Checkpoint checkpoint, AutoencoderKL.Part part, Placement at) {
        boolean sdxl = checkpoint.family().family() == ModelFamily.SDXL_BASE;
        return switch (checkpoint) {
            case DiffusersFolder f -> {
                VaeConfig c = VaeConfig.fromJson(f.config(Component.VAE));
                yield fromDiffusers(c, f.weights(Component.VAE), part, pipelinePlacement(c, sdxl, at));
            }
            case SingleFileCheckpoint f -> {
                VaeConfig standard = sdxl ? VaeConfig.SDXL : VaeConfig.SD15;
                String prefix = f.prefix(Component.VAE);
                TensorSource src = f.weights(Component.VAE);
                VaeConfig c = VaeConfigInference.infer(src, prefix, standard.scalingFactor(), standard.sampleSize());
                yield load(c, src, part, new LdmVaeMapping(c, prefix),
                        k -> k.startsWith(prefix) && belongs(k.substring(prefix.length()), part), pipelinePlacement(c, sdxl, at));
            }
        };
    }

    /**
     * From a diffusers {@code vae/} tensor set; keys of the half not loaded are ignored. Very old
     * diffusers VAEs name the mid attention {@code query/key/value/proj_attn}; those are read too.
     */
    public static AutoencoderKL fromDiffusers(VaeConfig config, TensorSource source, AutoencoderKL.Part part, Device device) {
        return fromDiffusers(config, source, part, Placement.of(device));
    }

    public static AutoencoderKL fromDiffusers(VaeConfig config, TensorSource source, AutoencoderKL.Part part, Placement at) {
        return load(config, source, part, legacyAware(source), k -> belongs(k, part), at);
    }

    /** diffusers names as they are, except the old attention names when the source uses them. */
    static ParamMapping legacyAware(TensorSource source) {
        String[][] legacy = {{"to_q.", "query."}, {"to_k.", "key."}, {"to_v.", "value."}, {"to_out.0.", "proj_attn."}};
        return (ParamSpec p) -> {
            String name = p.name();
            int at = name.indexOf(".mid_block.attentions.0.");
            if (at >= 0 && !source.contains(name)) {
                String head = name.substring(0, at + ".mid_block.attentions.0.".length()), rest = name.substring(head.length());
                for (String[] l : legacy)
                    if (rest.startsWith(l[0]) && source.contains(head + l[1] + rest.substring(l[0].length())))
                        return ParamMapping.Mapped.same(head + l[1] + rest.substring(l[0].length()), p.shape());
            }
            return ParamMapping.Mapped.same(name, p.shape());
        };
    }

    /** From a single-file LDM/SGM checkpoint (keys under {@code first_stage_model.}). */
    public static AutoencoderKL fromSingleFile(VaeConfig config, TensorSource source, AutoencoderKL.Part part, Device device) {
        return fromSingleFile(config, source, part, Placement.of(device));
    }

    public static AutoencoderKL fromSingleFile(VaeConfig config, TensorSource source, AutoencoderKL.Part part, Placement at) {
        String prefix = LdmVaeMapping.PREFIX;
        return load(config, source, part, new LdmVaeMapping(config, prefix),
                k -> k.startsWith(prefix) && belongs(k.substring(prefix.length()), part), at);
    }

    public static AutoencoderKL load(VaeConfig config, TensorSource source, AutoencoderKL.Part part, ParamMapping mapping,
                                     Predicate<String> componentKeys, Placement at) {
        ModelWeights.Loaded<AutoencoderKL> l = ModelWeights.load(s -> AutoencoderKL.build(config, s, part), source, mapping,
                componentKeys, k -> false, at);
        return l.model().owning(l.weights()).activations(at.activations());
    }

    /**
     * Where an SD pipeline runs its VAE when the rest runs at {@code at}. As in diffusers: the SDXL
     * pipeline decodes in F32 when F16 is asked for and the config sets {@code force_upcast} (the SDXL
     * VAE overflows in F16); the SD1.x pipeline ignores the flag (which defaults to true) and runs
     * its VAE in F16. BF16 has F32's range and is kept. Any overflow left is caught by
     * {@link AutoencoderKL}'s F32 retry.
     */
    public static Placement pipelinePlacement(VaeConfig config, boolean sdxl, Placement at) {
        return sdxl && at.activations() == DType.F16 && config.forceUpcast() ? at.withActivations(DType.F32) : at;
    }

    /** Whether a key (without prefix) belongs to the requested half. */
    private static boolean belongs(String key, AutoencoderKL.Part part) {
        boolean enc = key.startsWith("encoder.") || key.startsWith("quant_conv.");
        boolean dec = key.startsWith("decoder.") || key.startsWith("post_quant_conv.");
        return switch (part) {
            case BOTH -> enc || dec;
            case ENCODER -> enc;
            case DECODER -> dec;
        };
    }
}
