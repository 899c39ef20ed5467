package dev.diffuse4j.model.unet;

import dev.diffuse4j.runtime.Tensor;

/**
 * Sees the output of every sub-module of a UNet forward pass, named by diffusers module path
 * ("conv_in", "time_embedding", "down_blocks.0.resnets.1", "down_blocks.1.attentions.0",
 * "down_blocks.0.downsamplers.0", "mid_block.resnets.0", "up_blocks.0.upsamplers.0", "conv_out").
 * Used for debugging against reference intermediates and for feature extraction. The tensor (NHWC,
 * or [B, D] for the embedding) is valid only during the call; copy what must outlive it.
 */
@FunctionalInterface
public interface UNetObserver {
    void output(String module, Tensor value);

    UNetObserver NONE = (m, v) -> {};
}
