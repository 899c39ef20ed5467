/**
 * Attention processors for the training-free methods of the papers: reference attention
 * (StyleAligned shared attention with AdaIN of Q/K, KV concatenation and replacement, Stratified
 * Attention with conflict-free guidance), attention-map capture, Conditional Balance layer
 * selection, and the layer/step selectors that say where each applies.
 *
 * <p>All reference-based methods share one batch convention ({@link dev.diffuse4j.attention.BatchLayout}):
 * the reference is a row of the UNet batch, and with classifier-free guidance the batch is
 * {@code [uncond half; cond half]} with a reference row in each half.
 */
package dev.diffuse4j.attention;
