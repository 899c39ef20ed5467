package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.model.unet.UNet2DConditionModel;
import dev.diffuse4j.model.vae.AutoencoderKL;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.schedulers.SchedulerConfig;
import dev.diffuse4j.weights.ModelFamily;

/**
 * The loaded networks of one Stable Diffusion model and the facts pipelines need about it. Owns
 * them (and the checkpoint they were mapped from): close it to free everything.
 *
 * @param family                 SD1.5 or SDXL base
 * @param prompts                text encoder(s) with their tokenizer(s)
 * @param unet                   the denoiser
 * @param vae                    the autoencoder (encoder present when image-to-image is possible)
 * @param scheduler              the model's scheduler_config.json, or the family's default
 * @param forceZerosForEmptyPrompt SDXL base: a missing negative prompt means all-zero conditioning
 * @param placement              the device, and the storage type of weights and activations
 * @param description            where it came from, for logs and PNG metadata
 */
public record StableDiffusion(ModelFamily family, PromptEncoder prompts, UNet2DConditionModel unet, AutoencoderKL vae,
                              SchedulerConfig scheduler, boolean forceZerosForEmptyPrompt, Placement placement,
                              String description, AutoCloseable checkpoint) implements AutoCloseable {
    public boolean isXl() { return family == ModelFamily.SDXL_BASE; }

    public Device device() { return placement.device(); }

    /** Pixels per latent cell: 2^(VAE levels - 1), 8 for every SD model. */
    public int vaeScaleFactor() { return 1 << (vae.config().blockOutChannels().size() - 1); }

    /** The native resolution: UNet sample size times the VAE scale factor (512 SD1.5, 1024 SDXL). */
    public int defaultSize() { return unet.config().sampleSize() * vaeScaleFactor(); }

    @Override
    public void close() {
        prompts.close();
        unet.close();
        vae.close();
        if (checkpoint != null) {
            try {
                checkpoint.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + description + ": " + e.getMessage(), e);
            }
        }
    }
}
