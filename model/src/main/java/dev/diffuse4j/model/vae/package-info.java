/**
 * AutoencoderKL (the SD1.x/SDXL VAE), channels-last. The encoder and decoder can be loaded alone
 * (text-to-image needs only the decoder). All VAE GroupNorms use eps 1e-6; the encoder's stride-2
 * convs pad only right and bottom; the LDM single-file layout numbers the decoder's up blocks from
 * the highest resolution and stores the mid attention's projections as 1x1 convs
 * ({@link dev.diffuse4j.model.vae.LdmVaeMapping}).
 *
 * <p>Precision policy: see {@link dev.diffuse4j.model.vae.AutoencoderKL} (SDXL's VAE overflows in F16;
 * the CPU always computes in F32).
 */
package dev.diffuse4j.model.vae;
