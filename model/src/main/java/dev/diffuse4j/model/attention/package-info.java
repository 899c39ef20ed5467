/**
 * The hook through which models compute attention: {@link dev.diffuse4j.model.attention.Attention}
 * holds a layer's projections, an {@link dev.diffuse4j.model.attention.AttentionProcessor} computes
 * the layer given its {@link dev.diffuse4j.model.attention.LayerInfo} (diffusers name, self/cross,
 * block, resolution, index) and the {@link dev.diffuse4j.model.attention.StepContext} of the pass.
 * Processors implementing the papers' methods live in the {@code attention} module.
 */
package dev.diffuse4j.model.attention;
