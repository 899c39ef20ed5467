package dev.diffuse4j.attention;

import dev.diffuse4j.model.nn.GroupNorm;
import dev.diffuse4j.model.nn.GroupNormProcessor;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.ArrayList;
import java.util.List;

/**
 * StyleAligned's shared normalisation ({@code register_shared_norm}): every GroupNorm takes its group
 * statistics jointly over the item and the reference item of its guidance half. As the authors do it,
 * the reference's map is appended to each item's along the height axis, the layer normalises the
 * doubled map, and the item's half is kept. The reference itself sees its own map twice, which
 * leaves its statistics, and so its output, unchanged.
 */
public final class SharedGroupNorm implements GroupNormProcessor {
    private final BatchLayout layout;

    public SharedGroupNorm(BatchLayout layout) { this.layout = layout; }

    @Override public boolean stepInvariant() { return true; }

    @Override
    public Tensor apply(GroupNorm norm, Tensor x, boolean silu) {
        if (x.rank() != 4) throw new IllegalArgumentException("shared GroupNorm: input " + x.describe() + " is not [B, H, W, C]");
        int batch = x.dim(0), height = x.dim(1);
        try (Scope s = Scope.open()) {
            Tensor joint = Ops.concat(1, x, references(x, batch));
            Tensor n = silu ? norm.forwardSilu(joint) : norm.forward(joint);
            return s.keep(n.slice(1, 0, height).contiguous());
        }
    }

    /** [B, H, W, C] whose row b is x's reference row for b. */
    private Tensor references(Tensor x, int batch) {
        List<Tensor> rows = new ArrayList<>(batch);
        for (int b = 0; b < batch; b++) {
            int r = layout.referenceOf(b, batch);
            rows.add(x.slice(0, r, r + 1));
        }
        return Ops.concat(rows, 0);
    }
}
