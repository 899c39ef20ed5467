package dev.diffuse4j.weights;

import java.util.List;

/**
 * The weight-bearing parts of an SD1.5/SDXL pipeline, with where each lives in both layouts: the
 * diffusers folder (and its weights file's base name) and the single-file key prefixes (LDM for
 * SD1.5, SGM for SDXL; the first prefix present in a file wins).
 */
public enum Component {
    UNET("unet", "diffusion_pytorch_model", List.of("model.diffusion_model.")),
    VAE("vae", "diffusion_pytorch_model", List.of("first_stage_model.", "vae.")),
    /** CLIP ViT-L/14 text model (SD1.5's only encoder, SDXL's first). */
    TEXT_ENCODER("text_encoder", "model", List.of("cond_stage_model.transformer.", "conditioner.embedders.0.transformer.")),
    /** OpenCLIP ViT-bigG/14 text model (SDXL's second encoder), OpenCLIP key names in single files. */
    TEXT_ENCODER_2("text_encoder_2", "model", List.of("conditioner.embedders.1.model."));

    private final String folderName;
    private final String weightsBaseName;
    private final List<String> singleFilePrefixes;

    Component(String folderName, String weightsBaseName, List<String> singleFilePrefixes) {
        this.folderName = folderName;
        this.weightsBaseName = weightsBaseName;
        this.singleFilePrefixes = singleFilePrefixes;
    }

    /** The component's folder (and model_index.json key) in a diffusers pipeline. */
    public String folderName() { return folderName; }

    /** Weights file name without extension in a diffusers folder ("diffusion_pytorch_model", "model"). */
    public String weightsBaseName() { return weightsBaseName; }

    /** Key prefixes in single-file checkpoints, most common first. */
    public List<String> singleFilePrefixes() { return singleFilePrefixes; }

    /** The component stored in a diffusers folder of this name, or null. */
    public static Component ofFolder(String name) {
        for (Component c : values()) if (c.folderName.equals(name)) return c;
        return null;
    }
}
