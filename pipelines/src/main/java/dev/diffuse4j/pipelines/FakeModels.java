package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.clip.ClipActivation;
import dev.diffuse4j.model.clip.ClipTextConfig;
import dev.diffuse4j.model.clip.ClipTextModel;
import dev.diffuse4j.model.clip.ClipWeightLayout;
import dev.diffuse4j.model.controlnet.ControlNetConfig;
import dev.diffuse4j.model.controlnet.ControlNetLoader;
import dev.diffuse4j.model.controlnet.ControlNetModel;
import dev.diffuse4j.model.controlnet.LdmControlNetMapping;
import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.model.tokenizer.ByteLevelTokenizer;
import dev.diffuse4j.model.tokenizer.ClipTokenizer;
import dev.diffuse4j.model.tokenizer.PadToken;
import dev.diffuse4j.model.unet.LdmUNetMapping;
import dev.diffuse4j.model.unet.UNet2DConditionModel;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.unet.UNetLoader;
import dev.diffuse4j.model.vae.AutoencoderKL;
import dev.diffuse4j.model.vae.LdmVaeMapping;
import dev.diffuse4j.model.vae.VaeConfig;
import dev.diffuse4j.model.vae.VaeLoader;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.schedulers.SchedulerConfig;
import dev.diffuse4j.weights.DeterministicWeights;
import dev.diffuse4j.weights.ModelFamily;
import dev.diffuse4j.weights.TensorInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Models with the real architectures on the deterministic weights of WEIGHTS.md (values from each
 * tensor's single-file key), with a byte-level tokenizer (the 256 byte symbols, no merges): nothing
 * is shipped or downloaded. They make noise-like images, fast ({@code tiny-*}: the goldens' tiny
 * UNets) or at full cost ({@code sd15}, {@code sdxl}): for smoke tests and benchmarks.
 */
public final class FakeModels {
    public static final List<String> NAMES = List.of("tiny-sd15", "tiny-sdxl", "sd15", "sdxl");

    private FakeModels() {}

    /** The tiny VAE: four 32-channel levels (so 8 pixels per latent, like the real one), one resnet per level. */
    static final VaeConfig TINY_VAE = new VaeConfig(3, 3, 4, List.of(32, 32, 32, 32), 1, 32, 64, 0.18215f, true, true, true, true);

    /** F32 activations on {@code device}. */
    public static StableDiffusion load(String name, Device device) { return load(name, Placement.of(device)); }

    public static StableDiffusion load(String name, Placement device) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "tiny-sd15" -> sd15(UNetConfig.TINY_SD15, clip(258, 32, 2, 2, false, 32, ClipActivation.QUICK_GELU), TINY_VAE, name, device);
            case "sd15" -> sd15(UNetConfig.SD15, withByteIds(ClipTextConfig.CLIP_L, ByteLevelTokenizer.EOS), VaeConfig.SD15, name, device);
            case "tiny-sdxl" -> sdxl(UNetConfig.TINY_SDXL, clip(258, 16, 2, 2, false, 16, ClipActivation.QUICK_GELU),
                    clip(258, 32, 2, 2, true, 16, ClipActivation.GELU), TINY_VAE, name, device);
            case "sdxl" -> sdxl(UNetConfig.SDXL_BASE, withByteIds(ClipTextConfig.CLIP_L, ByteLevelTokenizer.EOS),
                    withByteIds(ClipTextConfig.OPENCLIP_BIGG, 0), VaeConfig.SDXL, name, device);
            default -> throw new IllegalArgumentException("unknown fake model '" + name + "': choose one of " + String.join(", ", NAMES));
        };
    }

    /** A ControlNet on deterministic weights that fits the fake model of that name (a copy of its UNet's encoder). */
    public static ControlNetModel controlNet(String name, Device device) { return controlNet(name, Placement.of(device)); }

    /** As {@link #controlNet(String, Device)}, in {@code device}'s types. */
    public static ControlNetModel controlNet(String name, Placement device) {
        ControlNetConfig c = switch (name.toLowerCase(Locale.ROOT)) {
            case "tiny-sd15" -> ControlNetConfig.TINY_SD15;
            case "tiny-sdxl" -> ControlNetConfig.TINY_SDXL;
            case "sd15" -> ControlNetConfig.forUNet(UNetConfig.SD15);
            case "sdxl" -> ControlNetConfig.forUNet(UNetConfig.SDXL_BASE);
            default -> throw new IllegalArgumentException("unknown fake model '" + name + "': choose one of " + String.join(", ", NAMES));
        };
        try (DeterministicWeights w = new DeterministicWeights(LdmControlNetMapping.checkpointTensors(c, LdmControlNetMapping.PREFIX))) {
            return ControlNetLoader.fromSingleFile(c, w, LdmControlNetMapping.PREFIX, device);
        }
    }

    private static ClipTextConfig clip(int vocab, int hidden, int heads, int layers, boolean projection, int projDim, ClipActivation act) {
        return new ClipTextConfig(vocab, hidden, hidden * 4, heads, layers, ClipTokenizer.DEFAULT_MAX_LENGTH, act, 1e-5f,
                projection, projDim, ByteLevelTokenizer.EOS, projection ? 0 : ByteLevelTokenizer.EOS);
    }

    /** The real text model with the byte-level tokenizer's eos/pad ids, so pooling finds the eos token. */
    private static ClipTextConfig withByteIds(ClipTextConfig c, int pad) {
        return new ClipTextConfig(c.vocabSize(), c.hiddenSize(), c.intermediateSize(), c.numHeads(), c.numLayers(), c.maxPositions(),
                c.activation(), c.layerNormEps(), c.withProjection(), c.projectionDim(), ByteLevelTokenizer.EOS, pad);
    }

    private static StableDiffusion sd15(UNetConfig u, ClipTextConfig c, VaeConfig v, String name, Placement device) {
        ClipTextModel clip = loadClip(c, ClipWeightLayout.SD15_SINGLE_FILE, device);
        var prompts = new Sd15Prompts(new ByteLevelTokenizer(), clip, 0);
        return new StableDiffusion(ModelFamily.SD15, prompts, loadUNet(u, device), loadVae(v, device),
                SchedulerConfig.stableDiffusion15(), false, device, "fake " + name + " (deterministic weights)", null);
    }

    private static StableDiffusion sdxl(UNetConfig u, ClipTextConfig c1, ClipTextConfig c2, VaeConfig v, String name, Placement device) {
        ClipTextModel clipL = loadClip(c1, ClipWeightLayout.SDXL_SINGLE_FILE_CLIP_L, device);
        ClipTextModel bigG = loadClip(c2, ClipWeightLayout.SDXL_SINGLE_FILE_OPENCLIP, device);
        var prompts = new SdxlPrompts(new ByteLevelTokenizer(), clipL,
                new ByteLevelTokenizer(ClipTokenizer.DEFAULT_MAX_LENGTH, PadToken.openClipZero()), bigG, 0);
        return new StableDiffusion(ModelFamily.SDXL_BASE, prompts, loadUNet(u, device), loadVae(v, VaeLoader.pipelinePlacement(v, true, device)),
                SchedulerConfig.stableDiffusionXl(), true, device, "fake " + name + " (deterministic weights)", null);
    }

    private static ClipTextModel loadClip(ClipTextConfig c, ClipWeightLayout layout, Placement device) {
        List<TensorInfo> infos = layout.sourceTensors(ClipTextModel.parameters(c), DType.F32);
        try (DeterministicWeights w = new DeterministicWeights(infos)) {
            return ClipTextModel.load(c, w, layout, device);
        }
    }

    private static UNet2DConditionModel loadUNet(UNetConfig u, Placement device) {
        try (DeterministicWeights w = new DeterministicWeights(LdmUNetMapping.checkpointTensors(u, LdmUNetMapping.PREFIX))) {
            return UNetLoader.fromSingleFile(u, w, device);
        }
    }

    private static AutoencoderKL loadVae(VaeConfig v, Placement device) {
        List<TensorInfo> infos = new ArrayList<>(LdmVaeMapping.checkpointTensors(v, AutoencoderKL.Part.BOTH, LdmVaeMapping.PREFIX));
        try (DeterministicWeights w = new DeterministicWeights(infos)) {
            return VaeLoader.fromSingleFile(v, w, AutoencoderKL.Part.BOTH, device);
        }
    }
}
