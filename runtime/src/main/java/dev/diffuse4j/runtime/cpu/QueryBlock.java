package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.ops.AttentionMode;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static dev.diffuse4j.runtime.cpu.AttentionKernels.KB;
import static dev.diffuse4j.runtime.cpu.AttentionKernels.QB;

/**
 * One worker's scratch, and attention for one block of {@link AttentionKernels#QB} queries of one
 * item and one head: keys are visited in blocks of {@link AttentionKernels#KB} with an online
 * softmax (running max and sum per query), so only a [KB, QB] tile of logits ever exists.
 * Joint mode runs one softmax across all present segments; stratified mode one per segment,
 * mixed by the normalised weights.
 */
final class QueryBlock {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final AttentionPlan plan;
    private final int headDim, valueStride;
    private final float[] qt, st, ot, acc, m, l, row;

    QueryBlock(AttentionPlan plan) {
        this.plan = plan;
        this.headDim = plan.headDim();
        this.valueStride = plan.panels().valueStride;
        this.qt = new float[headDim * QB];
        this.st = new float[KB * QB];
        this.ot = new float[valueStride * QB];
        this.acc = new float[valueStride * QB];
        this.m = new float[QB];
        this.l = new float[QB];
        this.row = new float[headDim];
    }

    /**
     * Computes output rows [q0, q0 + QB) of item b, head h. When {@code maps} is not null the capture
     * segment's probabilities, divided by the number of heads, are added to it ([QB, N_capture]).
     */
    void run(int item, int head, int q0, float[] maps) {
        int rows = Math.min(QB, plan.queries() - q0);
        gatherQueries(item, head, q0, rows);
        KvPanels panels = plan.panels();
        Arrays.fill(acc, 0f);
        if (plan.mode() == AttentionMode.JOINT) {
            reset();
            for (int j = 0; j < plan.segments(); j++) {
                int p = panels.panel(j, item);
                if (p >= 0) sweep(j, p, head, q0, rows);
            }
            int c = plan.capture();
            if (maps != null && panels.panel(c, item) >= 0) capture(c, panels.panel(c, item), head, q0, rows, maps);
            AttentionKernels.addNormalised(ot, l, 1f, acc, headDim);
        } else {
            float total = plan.presentWeight(item);
            for (int j = 0; j < plan.segments(); j++) {
                int p = panels.panel(j, item);
                boolean captured = maps != null && j == plan.capture();
                if (p < 0 || (plan.weight()[j] == 0f && !captured)) continue;
                reset();
                sweep(j, p, head, q0, rows);
                if (captured) capture(j, p, head, q0, rows, maps);
                AttentionKernels.addNormalised(ot, l, plan.weight()[j] / total, acc, headDim);
            }
        }
        writeRows(item, head, q0, rows);
    }

    /** qt[d*QB + i] = (AdaIN'd) q[item, q0 + i, head*D + d]; lanes past the last query are zero. */
    private void gatherQueries(int item, int head, int q0, int rows) {
        int c0 = head * headDim;
        AdaIn.ChannelAffine affine = plan.queryAffine() == null ? null : plan.queryAffine()[item];
        for (int i = 0; i < rows; i++) {
            plan.q().read(item, q0 + i, c0, headDim, row, 0);
            if (affine != null) affine.apply(row, 0, c0, headDim);
            for (int d = 0, o = i; d < headDim; d++, o += QB) qt[o] = row[d];
        }
        for (int i = rows; i < QB; i++)
            for (int d = 0, o = i; d < headDim; d++, o += QB) qt[o] = 0f;
    }

    private void reset() {
        Arrays.fill(m, Float.NEGATIVE_INFINITY);
        Arrays.fill(l, 0f);
        Arrays.fill(ot, 0f);
    }

    /** One online-softmax pass over the keys of segment j (panel p). */
    private void sweep(int j, int p, int head, int q0, int rows) {
        KvPanels panels = plan.panels();
        float[] k = panels.keys(p, head), v = panels.values(p, head);
        int n = panels.tokens(p);
        float cs = plan.logitScale()[j], bias = plan.logitBias()[j];
        int lastQuery = q0 + rows - 1;
        for (int k0 = 0; k0 < n; k0 += KB) {
            if (plan.causal() && k0 > lastQuery) break;
            int kn = Math.min(KB, n - k0), kn4 = KvPanels.roundUp4(kn);
            AttentionKernels.logits(k, k0 * headDim, headDim, qt, st, kn4);
            AttentionKernels.softmaxStep(st, kn, kn4, cs, bias, plan.causal(), k0 - q0, m, l, ot, valueStride);
            AttentionKernels.accumulate(v, k0 * valueStride, valueStride, valueStride, st, kn4, ot);
        }
    }

    /** Second pass over segment j with the final max/sum: adds its probabilities / heads to maps[i, key]. */
    private void capture(int j, int p, int head, int q0, int rows, float[] maps) {
        KvPanels panels = plan.panels();
        float[] k = panels.keys(p, head);
        int n = panels.tokens(p);
        float cs = plan.logitScale()[j], bias = plan.logitBias()[j];
        int lastQuery = q0 + rows - 1;
        for (int k0 = 0; k0 < n; k0 += KB) {
            if (plan.causal() && k0 > lastQuery) break;
            int kn = Math.min(KB, n - k0);
            AttentionKernels.logits(k, k0 * headDim, headDim, qt, st, KvPanels.roundUp4(kn));
            AttentionKernels.probabilities(st, kn, cs, bias, plan.causal(), k0 - q0, m, l, 1f / plan.heads());
            for (int i = 0; i < rows; i++) {
                int o = i * n + k0;
                for (int t = 0, s = i; t < kn; t++, s += QB) maps[o + t] += st[s];
            }
        }
    }

    private void writeRows(int item, int head, int q0, int rows) {
        MemorySegment out = plan.out();
        int dim = plan.dim();
        for (int i = 0; i < rows; i++) {
            for (int d = 0, o = i; d < headDim; d++, o += QB) row[d] = acc[o];
            long at = (((long) item * plan.queries() + q0 + i) * dim + (long) head * headDim) * 4;
            MemorySegment.copy(row, 0, out, F32, at, headDim);
        }
    }
}
