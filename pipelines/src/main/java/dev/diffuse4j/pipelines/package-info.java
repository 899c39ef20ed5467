/**
 * Text-to-image and image-to-image pipelines for SD1.5 and SDXL: {@link dev.diffuse4j.pipelines.StableDiffusion}
 * holds the loaded networks, {@link dev.diffuse4j.pipelines.StableDiffusionPipeline} runs a
 * {@link dev.diffuse4j.pipelines.GenerationRequest}; {@link dev.diffuse4j.pipelines.ModelLoader} opens
 * diffusers folders, single-file checkpoints, hub repo ids and the deterministic fake models.
 */
package dev.diffuse4j.pipelines;
