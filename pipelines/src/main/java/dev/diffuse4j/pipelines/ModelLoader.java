package dev.diffuse4j.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import dev.diffuse4j.model.clip.ClipTextConfig;
import dev.diffuse4j.model.clip.ClipTextModel;
import dev.diffuse4j.model.clip.ClipWeightLayout;
import dev.diffuse4j.model.tokenizer.ClipTokenizer;
import dev.diffuse4j.model.tokenizer.PadToken;
import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.model.unet.UNet2DConditionModel;
import dev.diffuse4j.model.unet.UNetLoader;
import dev.diffuse4j.model.vae.AutoencoderKL;
import dev.diffuse4j.model.vae.VaeLoader;
import dev.diffuse4j.pipelines.hub.DiffusersFiles;
import dev.diffuse4j.pipelines.hub.HubDownloader;
import dev.diffuse4j.pipelines.hub.HubRepoId;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.schedulers.SchedulerConfig;
import dev.diffuse4j.weights.Checkpoint;
import dev.diffuse4j.weights.Checkpoints;
import dev.diffuse4j.weights.Component;
import dev.diffuse4j.weights.DiffusersFolder;
import dev.diffuse4j.weights.ModelFamily;
import dev.diffuse4j.weights.SingleFileCheckpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens a model from what users have: a diffusers folder, a single-file LDM/SGM .safetensors, or a
 * Hugging Face repo id (downloaded into the shared hub cache first). Single files carry no
 * tokenizer: the CLIP vocabulary is taken from {@code tokenizerDir} or, failing that, from a
 * diffusers folder or hub cache entry of openai/clip-vit-large-patch14 when one is present.
 */
public final class ModelLoader {
    /** Where to find CLIP tokenizer files for single-file checkpoints when none is given. */
    static final String CLIP_TOKENIZER_REPO = "openai/clip-vit-large-patch14";

    private ModelLoader() {}

    /**
     * Load options: device and activation type ({@link Placement}), fp16 variant preference, tokenizer
     * folder for single files, clip skip, hub progress.
     */
    public record Options(Placement placement, boolean preferFp16, Path tokenizerDir, int clipSkip, HubDownloader.ProgressListener hubProgress) {
        public static Options defaults() { return new Options(Placement.of(Device.CPU), false, null, 0, HubDownloader.ProgressListener.NONE); }

        public Device device() { return placement.device(); }

        /** F32 activations on {@code d}. */
        public Options withDevice(Device d) { return withPlacement(Placement.of(d)); }

        public Options withPlacement(Placement p) { return new Options(p, preferFp16, tokenizerDir, clipSkip, hubProgress); }

        public Options withFp16(boolean f) { return new Options(placement, f, tokenizerDir, clipSkip, hubProgress); }

        public Options withTokenizerDir(Path p) { return new Options(placement, preferFp16, p, clipSkip, hubProgress); }

        public Options withClipSkip(int k) { return new Options(placement, preferFp16, tokenizerDir, k, hubProgress); }

        public Options withHubProgress(HubDownloader.ProgressListener p) { return new Options(placement, preferFp16, tokenizerDir, clipSkip, p); }
    }

    /** A path (folder or file) or a hub repo id. */
    public static StableDiffusion load(String model, Options o) throws IOException {
        Path path = Path.of(model);
        if (!Files.exists(path) && HubRepoId.looksLikeRepoId(model)) {
            HubDownloader hub = HubDownloader.fromEnvironment(o.hubProgress());
            path = hub.download(model, "main", files -> DiffusersFiles.select(files, o.preferFp16()));
        }
        if (!Files.exists(path))
            throw new IOException("model '" + model + "' is neither an existing path nor a hub repo id. " + howToGetModels());
        Checkpoint ckpt = Checkpoints.open(path, o.preferFp16() ? DiffusersFolder.Variant.PREFER_FP16 : DiffusersFolder.Variant.PREFER_FP32);
        try {
            return switch (ckpt) {
                case DiffusersFolder f -> fromDiffusers(f, o);
                case SingleFileCheckpoint s -> fromSingleFile(s, o);
            };
        } catch (RuntimeException | IOException e) {
            ckpt.close();
            throw e;
        }
    }

    /** What to tell a user who has no model yet. */
    public static String howToGetModels() {
        return "Get Stable Diffusion 1.5 or SDXL as a diffusers folder (e.g. `huggingface-cli download "
                + "stable-diffusion-v1-5/stable-diffusion-v1-5` or stabilityai/stable-diffusion-xl-base-1.0) or as a single "
                + "`.safetensors` checkpoint (v1-5-pruned-emaonly.safetensors, sd_xl_base_1.0.safetensors), or pass the repo id "
                + "to --model to download it; use --fake-weights tiny-sd15 to try the pipeline without any download.";
    }

    static StableDiffusion fromDiffusers(DiffusersFolder f, Options o) throws IOException {
        ModelFamily family = structuralFamily(f);
        boolean xl = family == ModelFamily.SDXL_BASE;
        Placement d = o.placement();
        List<AutoCloseable> loaded = new ArrayList<>();
        try {
            UNet2DConditionModel unet = track(loaded, UNetLoader.from(f, d));
            AutoencoderKL vae = track(loaded, VaeLoader.from(f, AutoencoderKL.Part.BOTH, d));
            ClipTextModel clipL = track(loaded, ClipTextModel.load(ClipTextConfig.fromJson(f.config(Component.TEXT_ENCODER)),
                    f.weights(Component.TEXT_ENCODER), ClipWeightLayout.DIFFUSERS, d));
            ClipTokenizer tok1 = ClipTokenizer.load(f.path().resolve("tokenizer"));
            PromptEncoder prompts;
            if (xl) {
                ClipTextModel bigG = track(loaded, ClipTextModel.load(ClipTextConfig.fromJson(f.config(Component.TEXT_ENCODER_2)),
                        f.weights(Component.TEXT_ENCODER_2), ClipWeightLayout.DIFFUSERS, d));
                ClipTokenizer tok2 = ClipTokenizer.load(f.path().resolve("tokenizer_2"));
                prompts = new SdxlPrompts(tok1, clipL, tok2, bigG, o.clipSkip());
            } else {
                prompts = new Sd15Prompts(tok1, clipL, o.clipSkip());
            }
            Path sched = f.path().resolve("scheduler").resolve("scheduler_config.json");
            SchedulerConfig sc = Files.isRegularFile(sched) ? SchedulerConfig.read(sched) : defaultScheduler(family);
            JsonNode force = f.modelIndex().path("force_zeros_for_empty_prompt");
            boolean zeros = force.isBoolean() ? force.asBoolean() : xl;
            return new StableDiffusion(family, prompts, unet, vae, sc, zeros, d, f.path() + " (diffusers, " + family.displayName() + ")", f);
        } catch (RuntimeException | IOException e) {
            closeAll(loaded);
            throw e;
        }
    }

    static StableDiffusion fromSingleFile(SingleFileCheckpoint s, Options o) throws IOException {
        ModelFamily family = requireKnown(s.family(), s.path());
        boolean xl = family == ModelFamily.SDXL_BASE;
        Placement d = o.placement();
        for (Component c : xl ? List.of(Component.UNET, Component.VAE, Component.TEXT_ENCODER, Component.TEXT_ENCODER_2)
                : List.of(Component.UNET, Component.VAE, Component.TEXT_ENCODER))
            if (!s.has(c)) throw new IOException(s.path() + " has no " + c.folderName() + " weights (keys " + c.singleFilePrefixes()
                    + "): it is not a complete " + family.displayName() + " checkpoint");
        Path tokDir = tokenizerDir(o);
        List<AutoCloseable> loaded = new ArrayList<>();
        try {
            UNet2DConditionModel unet = track(loaded, UNetLoader.from(s, d));
            AutoencoderKL vae = track(loaded, VaeLoader.from(s, AutoencoderKL.Part.BOTH, d));
            ClipTokenizer tok1 = ClipTokenizer.load(tokDir);
            PromptEncoder prompts;
            if (xl) {
                ClipTextModel clipL = track(loaded, loadClip(s, Component.TEXT_ENCODER, ClipWeightLayout.SDXL_SINGLE_FILE_CLIP_L, d));
                ClipTextModel bigG = track(loaded, loadClip(s, Component.TEXT_ENCODER_2, ClipWeightLayout.SDXL_SINGLE_FILE_OPENCLIP, d));
                prompts = new SdxlPrompts(tok1, clipL, tok1.withPad(PadToken.addedSpecial("!", 0)), bigG, o.clipSkip());
            } else {
                ClipTextModel clipL = track(loaded, loadClip(s, Component.TEXT_ENCODER, ClipWeightLayout.SD15_SINGLE_FILE, d));
                prompts = new Sd15Prompts(tok1, clipL, o.clipSkip());
            }
            return new StableDiffusion(family, prompts, unet, vae, defaultScheduler(family), xl, d,
                    s.path() + " (single file, " + family.displayName() + ")", s);
        } catch (RuntimeException | IOException e) {
            closeAll(loaded);
            throw e;
        }
    }

    /** CLIP text models in single files: shapes give the config; both CLIP-L and bigG use 64-wide heads. */
    private static ClipTextModel loadClip(SingleFileCheckpoint s, Component c, ClipWeightLayout layout, Placement d) {
        var src = s.weights(c);
        ClipTextConfig config = layout.inferConfig(src, 64);
        return ClipTextModel.load(config, src, layout, d);
    }

    /**
     * A diffusers folder's family; folders the detector cannot place (tiny test models, fine-tunes
     * with other widths) are treated by their structure: a second text encoder and text_time added
     * conditioning make an SDXL-style pipeline, otherwise SD1.5-style.
     */
    static ModelFamily structuralFamily(DiffusersFolder f) {
        ModelFamily detected = f.family().family();
        if (detected != ModelFamily.UNKNOWN) return detected;
        boolean xl = f.has(Component.TEXT_ENCODER_2) && "text_time".equals(f.config(Component.UNET).path("addition_embed_type").asText(""));
        return xl ? ModelFamily.SDXL_BASE : ModelFamily.SD15;
    }

    /** The family's standard scheduler config (what its diffusers repo ships). */
    static SchedulerConfig defaultScheduler(ModelFamily f) {
        return f == ModelFamily.SDXL_BASE ? SchedulerConfig.stableDiffusionXl() : SchedulerConfig.stableDiffusion15();
    }

    private static ModelFamily requireKnown(ModelFamily.Detection d, Path p) throws IOException {
        if (d.family() == ModelFamily.UNKNOWN)
            throw new IOException(p + " is not a Stable Diffusion 1.5 or SDXL base checkpoint: " + d.evidence());
        return d.family();
    }

    /** A folder with vocab.json and merges.txt for single-file checkpoints. */
    static Path tokenizerDir(Options o) throws IOException {
        if (o.tokenizerDir() != null) {
            if (!Files.isRegularFile(o.tokenizerDir().resolve("vocab.json")))
                throw new IOException("tokenizer folder " + o.tokenizerDir() + " has no vocab.json");
            return o.tokenizerDir();
        }
        HubDownloader hub = HubDownloader.fromEnvironment(o.hubProgress());
        var cached = hub.cachedSnapshot(CLIP_TOKENIZER_REPO, "main");
        if (cached.isPresent() && Files.isRegularFile(cached.get().resolve("vocab.json"))) return cached.get();
        try {
            Path snap = hub.download(CLIP_TOKENIZER_REPO, "main", files -> new java.util.LinkedHashSet<>(
                    files.stream().filter(f -> f.equals("vocab.json") || f.equals("merges.txt") || f.equals("tokenizer_config.json")
                            || f.equals("special_tokens_map.json")).toList()));
            if (Files.isRegularFile(snap.resolve("vocab.json"))) return snap;
        } catch (IOException e) {
            throw new IOException("a single-file checkpoint carries no tokenizer, and the CLIP tokenizer (" + CLIP_TOKENIZER_REPO
                    + ") is neither cached nor downloadable here (" + e.getMessage() + "). Pass --tokenizer DIR with vocab.json and "
                    + "merges.txt (the tokenizer/ folder of any SD1.5 or SDXL diffusers repo).", e);
        }
        throw new IOException("the CLIP tokenizer download has no vocab.json; pass --tokenizer DIR");
    }

    private static <T extends AutoCloseable> T track(List<AutoCloseable> list, T t) {
        list.add(t);
        return t;
    }

    private static void closeAll(List<AutoCloseable> list) {
        for (AutoCloseable c : list) {
            try {
                c.close();
            } catch (Exception ignored) {
                // already failing: the original error is what the user needs
            }
        }
    }
}
