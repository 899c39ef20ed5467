package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.ops.AttentionMode;
import jdk.incubator.vector.FloatVector;

import java.util.Arrays;

import static dev.diffuse4j.runtime.cpu.AttentionKernels.F;
import static dev.diffuse4j.runtime.cpu.AttentionKernels.L;
import static dev.diffuse4j.runtime.cpu.AttentionKernels.QB;

/**
 * One worker's scratch, and the backward pass for one block of {@link AttentionKernels#QB} queries
 * of one item and head. Keys are visited in blocks of QB so every tile is square. Per softmax
 * (all present segments in joint mode, one segment in stratified mode):
 * <ol>
 * <li>a forward sweep gives the row max/sum and the output O (online softmax, as the forward does);</li>
 * <li>{@code D = rowsum(P * dP) = f dO.O (+ rowsum(P * dMaps/H) over the captured keys)}, f being
 *     the segment's normalised weight in stratified mode and 1 in joint mode;</li>
 * <li>per key block: P from the saved statistics, {@code dP = f dO V^T (+ dMaps/H)},
 *     {@code dS = c P (dP - D)} (c = the segment's logit scale times the softmax scale),
 *     {@code dQ += dS K}, and into the task's partials {@code dV += P^T f dO}, {@code dK += dS^T Q}.</li>
 * </ol>
 * Tiles are "queries in lanes" like the forward's ({@code st[n*QB + i]}); the two key-major products
 * run on the same kernels after a transpose of the tile ({@code pt[i*QB + n]}), so partials are
 * held transposed per key block: {@code [block][c*QB + n]}.
 */
final class BackwardBlock {
    private final BackwardPlan plan;
    private final int headDim, vs;
    private final float[] qt, qr, dot, dor, dotScaled, dorScaled, st, dp, pt, ot, dqt, m, l, rowSum, row;
    private float[] gt = new float[0];

    BackwardBlock(BackwardPlan plan) {
        this.plan = plan;
        this.headDim = plan.headDim();
        this.vs = plan.valueStride();
        this.qt = new float[vs * QB];
        this.qr = new float[QB * vs];
        this.dot = new float[vs * QB];
        this.dor = new float[QB * vs];
        this.dotScaled = new float[vs * QB];
        this.dorScaled = new float[QB * vs];
        this.st = new float[QB * QB];
        this.dp = new float[QB * QB];
        this.pt = new float[QB * QB];
        this.ot = new float[vs * QB];
        this.dqt = new float[vs * QB];
        this.m = new float[QB];
        this.l = new float[QB];
        this.rowSum = new float[QB];
        this.row = new float[Math.max(vs, 1)];
    }

    /** Partial key/value gradients of one task: {@code [segment][key block][c*QB + n]}, null for absent segments. */
    record Partials(float[][][] dk, float[][][] dv) {}

    static Partials partialsFor(BackwardPlan plan, int item) {
        int count = plan.segments(), size = plan.valueStride() * QB;
        float[][][] dk = new float[count][][], dv = new float[count][][];
        for (int j = 0; j < count; j++) {
            int p = plan.panels().panel(j, item);
            if (p < 0) continue;
            int blocks = (plan.panels().tokens(p) + QB - 1) / QB;
            dk[j] = new float[blocks][size];
            dv[j] = new float[blocks][size];
        }
        return new Partials(dk, dv);
    }

    /** Queries [q0, q0 + QB) of item, head: writes dL/dq' into {@code dq} ([B, Nq, H*D]) and adds into {@code acc}. */
    void run(int item, int head, int q0, Partials acc, float[] dq) {
        int rows = Math.min(QB, plan.queries() - q0);
        gather(item, head, q0, rows);
        boolean maps = plan.dMaps() != null && plan.panels().panel(plan.capture(), item) >= 0;
        if (maps) gatherMapGrads(item, q0, rows);
        Arrays.fill(dqt, 0f);
        KvPanels panels = plan.panels();
        if (plan.mode() == AttentionMode.JOINT) {
            resetSoftmax();
            for (int j = 0; j < plan.segments(); j++)
                if (panels.panel(j, item) >= 0) sweep(j, panels.panel(j, item), head, q0, rows);
            int c = plan.capture();
            rowSums(1f, maps ? c : -1, maps ? panels.panel(c, item) : -1, head, q0, rows);
            for (int j = 0; j < plan.segments(); j++)
                if (panels.panel(j, item) >= 0) backward(j, panels.panel(j, item), head, q0, rows, dot, dor, maps && j == c, acc);
        } else {
            float total = plan.presentWeight(item);
            for (int j = 0; j < plan.segments(); j++) {
                int p = panels.panel(j, item);
                boolean captured = maps && j == plan.capture();
                if (p < 0 || (plan.weight()[j] == 0f && !captured)) continue;
                float f = plan.weight()[j] / total;
                for (int i = 0; i < dot.length; i++) dotScaled[i] = dot[i] * f;
                for (int i = 0; i < dor.length; i++) dorScaled[i] = dor[i] * f;
                resetSoftmax();
                sweep(j, p, head, q0, rows);
                rowSums(f, captured ? j : -1, captured ? p : -1, head, q0, rows);
                backward(j, p, head, q0, rows, dotScaled, dorScaled, captured, acc);
            }
        }
        int dim = plan.dim();
        for (int i = 0; i < rows; i++) {
            int at = (item * plan.queries() + q0 + i) * dim + head * headDim;
            for (int d = 0, o = i; d < headDim; d++, o += QB) dq[at + d] = dqt[o];
        }
    }

    /** Queries (AdaIN'd) and output gradients of the block, both transposed and as rows; zero padding. */
    private void gather(int item, int head, int q0, int rows) {
        int c0 = head * headDim;
        Arrays.fill(qt, 0f);
        Arrays.fill(qr, 0f);
        Arrays.fill(dot, 0f);
        Arrays.fill(dor, 0f);
        AdaIn.ChannelAffine affine = plan.queryAffine() == null ? null : plan.queryAffine()[item];
        for (int i = 0; i < rows; i++) {
            plan.q().read(item, q0 + i, c0, headDim, qr, i * vs);
            if (affine != null) affine.apply(qr, i * vs, c0, headDim);
            for (int d = 0, o = i; d < headDim; d++, o += QB) qt[o] = qr[i * vs + d];
            if (plan.dOut() == null) continue;
            plan.dOut().read(item, q0 + i, c0, headDim, dor, i * vs);
            for (int d = 0, o = i; d < headDim; d++, o += QB) dot[o] = dor[i * vs + d];
        }
    }

    /** gt[n*QB + i] = dMaps[item, q0 + i, n] / heads (the map is the head average). */
    private void gatherMapGrads(int item, int q0, int rows) {
        int n = plan.panels().tokens(plan.panels().panel(plan.capture(), item));
        if (gt.length < n * QB) gt = new float[n * QB];
        Arrays.fill(gt, 0, n * QB, 0f);
        float[] buf = new float[n];
        float inv = 1f / plan.heads();
        for (int i = 0; i < rows; i++) {
            plan.dMaps().read(item, q0 + i, 0, n, buf, 0);
            for (int t = 0, o = i; t < n; t++, o += QB) gt[o] = buf[t] * inv;
        }
    }

    private void resetSoftmax() {
        Arrays.fill(m, Float.NEGATIVE_INFINITY);
        Arrays.fill(l, 0f);
        Arrays.fill(ot, 0f);
    }

    /** The forward's online-softmax pass over segment j: running max/sum and unnormalised output. */
    private void sweep(int j, int p, int head, int q0, int rows) {
        KvPanels panels = plan.panels();
        float[] k = plan.paddedKeys()[p * plan.heads() + head], v = panels.values(p, head);
        int n = panels.tokens(p), lastQuery = q0 + rows - 1;
        float cs = plan.logitScale()[j], bias = plan.logitBias()[j];
        for (int k0 = 0; k0 < n; k0 += QB) {
            if (plan.causal() && k0 > lastQuery) break;
            int kn = Math.min(QB, n - k0), kn4 = KvPanels.roundUp4(kn);
            AttentionKernels.logits(k, k0 * vs, vs, qt, st, kn4);
            AttentionKernels.softmaxStep(st, kn, kn4, cs, bias, plan.causal(), k0 - q0, m, l, ot, vs);
            AttentionKernels.accumulate(v, k0 * vs, vs, vs, st, kn4, ot);
        }
    }

    /**
     * rowSum[i] = f dO_i . O_i, plus sum_n P[n, i] gt[n, i] over the captured segment's keys
     * ({@code capture} >= 0), where O = ot / l and P comes from the final statistics.
     */
    private void rowSums(float f, int capture, int p, int head, int q0, int rows) {
        for (int col = 0; col < QB; col += L) {
            FloatVector sum = FloatVector.zero(F);
            for (int c = 0, o = col; c < vs; c++, o += QB)
                sum = FloatVector.fromArray(F, dot, o).fma(FloatVector.fromArray(F, ot, o), sum);
            sum.mul(f).div(FloatVector.fromArray(F, l, col)).intoArray(rowSum, col);
        }
        if (capture < 0) return;
        KvPanels panels = plan.panels();
        float[] k = plan.paddedKeys()[p * plan.heads() + head];
        int n = panels.tokens(p), lastQuery = q0 + rows - 1;
        float cs = plan.logitScale()[capture], bias = plan.logitBias()[capture];
        for (int k0 = 0; k0 < n; k0 += QB) {
            if (plan.causal() && k0 > lastQuery) break;
            int kn = Math.min(QB, n - k0);
            AttentionKernels.logits(k, k0 * vs, vs, qt, st, KvPanels.roundUp4(kn));
            AttentionKernels.probabilities(st, kn, cs, bias, plan.causal(), k0 - q0, m, l, 1f);
            for (int col = 0; col < QB; col += L) {
                FloatVector sum = FloatVector.fromArray(F, rowSum, col);
                for (int t = 0, o = col, g = k0 * QB + col; t < kn; t++, o += QB, g += QB)
                    sum = FloatVector.fromArray(F, st, o).fma(FloatVector.fromArray(F, gt, g), sum);
                sum.intoArray(rowSum, col);
            }
        }
    }

    /** Step 3 over segment j's key blocks, with the (scaled) output gradients {@code dOt}/{@code dOr}. */
    private void backward(int j, int p, int head, int q0, int rows, float[] dOt, float[] dOr, boolean captured, Partials acc) {
        KvPanels panels = plan.panels();
        float[] k = plan.paddedKeys()[p * plan.heads() + head], v = panels.values(p, head);
        int n = panels.tokens(p), lastQuery = q0 + rows - 1, rows4 = KvPanels.roundUp4(rows);
        float cs = plan.logitScale()[j], bias = plan.logitBias()[j];
        boolean outGrads = plan.dOut() != null;
        for (int k0 = 0, b = 0; k0 < n; k0 += QB, b++) {
            if (plan.causal() && k0 > lastQuery) break;
            int kn = Math.min(QB, n - k0), kn4 = KvPanels.roundUp4(kn);
            AttentionKernels.logits(k, k0 * vs, vs, qt, st, kn4);
            AttentionKernels.probabilities(st, kn, cs, bias, plan.causal(), k0 - q0, m, l, 1f);
            Arrays.fill(st, kn * QB, QB * QB, 0f);
            if (outGrads) AttentionKernels.logits(v, k0 * vs, vs, dOt, dp, kn4);
            else Arrays.fill(dp, 0, kn4 * QB, 0f);
            scoreGrads(kn, cs, captured ? k0 : -1);
            AttentionKernels.accumulate(k, k0 * vs, vs, vs, dp, kn4, dqt);
            if (outGrads) {
                transpose(st, pt);
                AttentionKernels.accumulate(dOr, 0, vs, vs, pt, rows4, acc.dv()[j][b]);
            }
            transpose(dp, pt);
            AttentionKernels.accumulate(qr, 0, vs, vs, pt, rows4, acc.dk()[j][b]);
        }
    }

    /** dp = cs * P * (dp (+ gt) - rowSum) on the block's kn keys; zero on the rest of the tile. */
    private void scoreGrads(int kn, float cs, int mapKey0) {
        for (int col = 0; col < QB; col += L) {
            FloatVector d = FloatVector.fromArray(F, rowSum, col);
            for (int t = 0, o = col; t < kn; t++, o += QB) {
                FloatVector g = FloatVector.fromArray(F, dp, o);
                if (mapKey0 >= 0) g = g.add(FloatVector.fromArray(F, gt, (mapKey0 + t) * QB + col));
                FloatVector.fromArray(F, st, o).mul(g.sub(d)).mul(cs).intoArray(dp, o);
            }
        }
        Arrays.fill(dp, kn * QB, QB * QB, 0f);
    }

    /** dst[i*QB + n] = src[n*QB + i] for a QB x QB tile. */
    private static void transpose(float[] src, float[] dst) {
        for (int n0 = 0; n0 < QB; n0 += 8)
            for (int i = 0; i < QB; i++) {
                int d = i * QB + n0;
                for (int n = 0, s = n0 * QB + i; n < 8; n++, s += QB) dst[d + n] = src[s];
            }
    }
}
