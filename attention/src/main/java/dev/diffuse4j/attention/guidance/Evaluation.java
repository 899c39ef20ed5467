package dev.diffuse4j.attention.guidance;

/**
 * One evaluation of a guidance objective on the maps of one forward pass.
 *
 * @param response  the A&E response loss {@code max_s (1 - topk_s)} (before weighting)
 * @param clean     INITNO's clean loss (0 where the objective has none)
 * @param alignment the EMA alignment loss (0 where the objective has none)
 * @param selfCross the Self-Cross overlap loss after its gate (0 while the response loss is above the gate)
 * @param update    what the per-step latent update descends, and what the refinement thresholds test
 * @param refine    what the iterative-refinement updates descend (the authors' "joint" loss)
 */
public record Evaluation(double response, double clean, double alignment, double selfCross, Loss update, Loss refine) {
    /** A loss value and dLoss/dMaps. */
    public record Loss(double value, MapGradient gradient) {}
}
