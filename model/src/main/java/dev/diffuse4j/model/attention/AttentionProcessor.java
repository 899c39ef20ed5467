package dev.diffuse4j.model.attention;

import dev.diffuse4j.runtime.Tensor;

/**
 * Computes one attention layer of a model, like a diffusers attention processor: given the layer's
 * weights, the (already normalised) hidden states and the key/value context, it returns the layer's
 * output after {@code to_out}. Methods that rewrite attention (shared attention, AdaIN of Q/K,
 * KV injection, map capture) are processors; the model never calls the attention kernel itself.
 *
 * <p>Processors are installed per layer (see {@link AttentionProcessors}) and may change between
 * forward passes; the {@link StepContext} tells them which sampling step the pass belongs to.
 */
@FunctionalInterface
public interface AttentionProcessor {
    /**
     * @param attn    the layer: projections and head count
     * @param hidden  hidden states [B, N, C] (N = h * w tokens of the latent grid at this layer)
     * @param context key/value source [B, M, Cctx] for cross-attention, null for self-attention
     * @param layer   where the layer sits in the model
     * @param step    the sampling step of this forward pass
     * @return [B, N, C], the layer's output (before the block's residual add)
     */
    Tensor process(Attention attn, Tensor hidden, Tensor context, LayerInfo layer, StepContext step);

    /**
     * True when every call does the same device work whatever the step (it ignores {@code step} and
     * keeps no host-side state between passes), so a pass can be captured once as a CUDA graph and
     * replayed at every step. {@link #PLAIN} is; a processor must say so to get replayed.
     */
    default boolean stepInvariant() { return false; }

    /** Plain multi-head attention through the runtime's attention op. */
    AttentionProcessor PLAIN = (attn, hidden, context, layer, step) -> attn.plain(hidden, context);
}
