/**
 * Latent-guidance losses of the Attend-and-Excite family, as pure float64 functions of the head- and
 * layer-averaged attention maps with analytic gradients wrt those maps ({@link
 * dev.diffuse4j.attention.guidance.MapGradient}), plus the processor that captures the maps of a
 * taped cond-only UNet pass ({@link dev.diffuse4j.attention.guidance.GuidanceCapture}).
 *
 * <p>Sources: {@code mengtang-lab/selfcross-guidance} ({@code pipeline_sc_initno.py},
 * {@code utils/attn_utils.py}, {@code utils/gaussian_smoothing.py}, {@code run_selfcross+initno.py}),
 * {@code yuval-alaluf/Attend-and-Excite}. Reproduced as the code does it, quirks included:
 * <ul>
 *   <li>the Gaussian kernel {@code exp(-((x-mean)/(2 sigma))^2)}, 3x3, sigma 0.5, reflect padding;</li>
 *   <li>cross maps: drop the start and the last token, x100, softmax over the remaining tokens;</li>
 *   <li>Otsu on {@code uint16(map*255)} levels with the mask {@code map >= t/255} (the top level of the
 *       low class counts as foreground), unclean mask for the self-attention aggregation, the
 *       4-connected component of the top-1 pixel for the clean loss;</li>
 *   <li>self-cross pairs over ordered subject pairs, cross maps normalised only on grids taller than 16,
 *       eps 1e-4 during denoising and none in the initial-noise stage, the term zeroed while the
 *       response loss is above 0.5;</li>
 *   <li>the EMA alignment cache is updated on every evaluation (also inside refinements) and is a
 *       constant for the gradient.</li>
 * </ul>
 * Ties (top-k, max, min) go to the first index / split evenly for min, as torch does.
 */
package dev.diffuse4j.attention.guidance;
