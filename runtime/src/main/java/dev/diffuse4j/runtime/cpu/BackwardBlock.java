package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.ops.AttentionMode;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.util.Arrays;

import static dev.diffuse4j.runtime.cpu.AttentionKernels.F;
import static dev.diffuse4j.runtime.cpu.AttentionKernels.L;
import static dev.diffuse4j.runtime.cpu.AttentionKernels.QB;

/**
 * One worker's scratch, and the backward pass for one block of {@link AttentionKernels#QB} queries
 * of one item and head. Keys are visited in blocks of QB so every tile is square. Per softmax
 * (all present segments in joint mode, one segment in stratified mode):
 * <ol>
 * <li>per key block: the logits {@code S = Q K^T} and {@code dP = f dO V^T} are kept (f: the segment's
 *     normalised weight in stratified mode, 1 in joint mode) while the row max/sum are accumulated;</li>
 * <li>with the final statistics each kept S becomes P, and {@code D = rowsum(P * (dP + G))}, G being
 *     dMaps/H on the captured segment's keys;</li>
 * <li>per key block: {@code dS = c P (dP + G - D)} (c = the segment's logit scale times the softmax
 *     scale), {@code dQ += dS K}, and into the task's partials {@code dV += P^T f dO}, {@code dK += dS^T Q}.</li>
 * </ol>
 * That is five [QB x QB x D] products per key block (the forward does two) and O(QB * N) kept tiles per
 * worker. Tiles are "queries in lanes" like the forward's ({@code st[n*QB + i]}); the two key-major
 * products run on the same kernels after a transpose of the tile ({@code pt[i*QB + n]}), so partials
 * are held transposed per key block: {@code [block][c*QB + n]}.
 */
final class BackwardBlock {
    private static final float LOG2E = 1.44269504088896341f;
    private static final FloatVector IOTA = FloatVector.fromArray(F, iota(), 0);

    private final BackwardPlan plan;
    private final int headDim, vs;
    private final float[] qt, qr, dot, dor, dotScaled, dorScaled, pt, dqt, m, l, rowSum;
    private final int[] firstBlock;
    private float[][] sBlocks = new float[0][], dpBlocks = new float[0][], baseBlocks = new float[0][];
    private float[] gt = new float[0], mapRows = new float[0];

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
        this.pt = new float[QB * QB];
        this.dqt = new float[vs * QB];
        this.m = new float[QB];
        this.l = new float[QB];
        this.rowSum = new float[QB];
        this.firstBlock = new int[plan.segments()];
    }

    private static float[] iota() {
        float[] a = new float[L];
        for (int i = 0; i < L; i++) a[i] = i;
        return a;
    }

    /** Partial key/value gradients of one task: {@code [segment][key block][c*QB + n]}, null for absent segments. */
    record Partials(float[][][] dk, float[][][] dv) {}

    static Partials partialsFor(BackwardPlan plan, int item) {
        int count = plan.segments(), size = plan.valueStride() * QB;
        float[][][] dk = new float[count][][], dv = new float[count][][];
        for (int j = 0; j < count; j++) {
            int p = plan.panels().panel(j, item);
            if (p < 0) continue;
            dk[j] = new float[blocks(plan.panels().tokens(p))][size];
            dv[j] = new float[blocks(plan.panels().tokens(p))][size];
        }
        return new Partials(dk, dv);
    }

    private static int blocks(int tokens) { return (tokens + QB - 1) / QB; }

    /** Queries [q0, q0 + QB) of item, head: writes dL/dq' into {@code dq} ([B, Nq, H*D]) and adds into {@code acc}. */
    void run(int item, int head, int q0, Partials acc, float[] dq) {
        int rows = Math.min(QB, plan.queries() - q0);
        gather(item, head, q0, rows);
        KvPanels panels = plan.panels();
        int c = plan.capture();
        boolean maps = plan.dMaps() != null && panels.panel(c, item) >= 0;
        if (maps) gatherMapGrads(item, q0, rows);
        Arrays.fill(dqt, 0f);
        int total = 0;
        for (int j = 0; j < plan.segments(); j++) {
            firstBlock[j] = total;
            if (panels.panel(j, item) >= 0) total += blocks(panels.tokens(panels.panel(j, item)));
        }
        reserveBlocks(total);
        if (plan.mode() == AttentionMode.JOINT) {
            resetSoftmax();
            for (int j = 0; j < plan.segments(); j++)
                if (panels.panel(j, item) >= 0) keep(j, panels.panel(j, item), head, q0, rows, dot);
            for (int j = 0; j < plan.segments(); j++)
                if (panels.panel(j, item) >= 0) probabilities(j, panels.panel(j, item), q0, rows, maps && j == c);
            for (int j = 0; j < plan.segments(); j++)
                if (panels.panel(j, item) >= 0) backward(j, panels.panel(j, item), head, q0, rows, dor, maps && j == c, acc);
        } else {
            float weights = plan.presentWeight(item);
            for (int j = 0; j < plan.segments(); j++) {
                int p = panels.panel(j, item);
                boolean captured = maps && j == c;
                // a segment reaches the loss through its weighted output or its captured map
                if (p < 0 || ((plan.weight()[j] == 0f || plan.dOut() == null) && !captured)) continue;
                float f = plan.weight()[j] / weights;
                for (int i = 0; i < dot.length; i++) dotScaled[i] = dot[i] * f;
                for (int i = 0; i < dor.length; i++) dorScaled[i] = dor[i] * f;
                resetSoftmax();
                keep(j, p, head, q0, rows, dotScaled);
                probabilities(j, p, q0, rows, captured);
                backward(j, p, head, q0, rows, dorScaled, captured, acc);
            }
        }
        int dim = plan.dim();
        for (int i = 0; i < rows; i++) {
            int at = (item * plan.queries() + q0 + i) * dim + head * headDim;
            for (int d = 0, o = i; d < headDim; d++, o += QB) dq[at + d] = dqt[o];
        }
    }

    private void reserveBlocks(int n) {
        if (sBlocks.length >= n) return;
        int old = sBlocks.length;
        sBlocks = Arrays.copyOf(sBlocks, n);
        dpBlocks = Arrays.copyOf(dpBlocks, n);
        baseBlocks = Arrays.copyOf(baseBlocks, n);
        for (int i = old; i < n; i++) {
            sBlocks[i] = new float[QB * QB];
            dpBlocks[i] = new float[QB * QB];
            baseBlocks[i] = new float[QB];
        }
    }

    /** Queries (AdaIN'd) and output gradients of the block, as rows and transposed; zero padding. */
    private void gather(int item, int head, int q0, int rows) {
        int c0 = head * headDim;
        Arrays.fill(qr, 0f);
        Arrays.fill(dor, 0f);
        AdaIn.ChannelAffine affine = plan.queryAffine() == null ? null : plan.queryAffine()[item];
        for (int i = 0; i < rows; i++) {
            plan.q().read(item, q0 + i, c0, headDim, qr, i * vs);
            if (affine != null) affine.apply(qr, i * vs, c0, headDim);
            if (plan.dOut() != null) plan.dOut().read(item, q0 + i, c0, headDim, dor, i * vs);
        }
        transposeRows(qr, qt);
        transposeRows(dor, dot);
    }

    /** t[c*QB + i] = r[i*vs + c] for the QB x vs block. */
    private void transposeRows(float[] r, float[] t) {
        for (int c = 0; c < vs; c++)
            for (int i = 0, o = c * QB, at = c; i < QB; i++, at += vs) t[o + i] = r[at];
    }

    /** gt[n*QB + i] = dMaps[item, q0 + i, n] / heads (the map is the head average); zero past the last query. */
    private void gatherMapGrads(int item, int q0, int rows) {
        int n = plan.panels().tokens(plan.panels().panel(plan.capture(), item));
        if (gt.length < n * QB) {
            gt = new float[n * QB];
            mapRows = new float[n * QB];
        }
        for (int i = 0; i < rows; i++) plan.dMaps().read(item, q0 + i, 0, n, mapRows, i * n);
        Arrays.fill(mapRows, rows * n, QB * n, 0f);
        float inv = 1f / plan.heads();
        for (int t = 0; t < n; t++)
            for (int i = 0, o = t * QB, at = t; i < QB; i++, at += n) gt[o + i] = mapRows[at] * inv;
    }

    private void resetSoftmax() {
        Arrays.fill(m, Float.NEGATIVE_INFINITY);
        Arrays.fill(l, 0f);
        Arrays.fill(rowSum, 0f);
    }

    /** Step 1 over segment j (panel p): keeps S and dP per key block, updates the row max/sum. */
    private void keep(int j, int p, int head, int q0, int rows, float[] dOt) {
        KvPanels panels = plan.panels();
        float[] k = plan.paddedKeys()[p * plan.heads() + head], v = panels.values(p, head);
        int n = panels.tokens(p), lastQuery = q0 + rows - 1;
        float cs = plan.logitScale()[j], bias = plan.logitBias()[j];
        for (int k0 = 0, b = firstBlock[j]; k0 < n; k0 += QB, b++) {
            if (plan.causal() && k0 > lastQuery) break;
            int kn = Math.min(QB, n - k0), kn4 = KvPanels.roundUp4(kn);
            AttentionKernels.logits(k, k0 * vs, vs, qt, sBlocks[b], kn4);
            exponentials(sBlocks[b], kn, cs, bias, k0 - q0, baseBlocks[b]);
            if (plan.dOut() != null) AttentionKernels.logits(v, k0 * vs, vs, dOt, dpBlocks[b], kn4);
            else Arrays.fill(dpBlocks[b], 0, kn4 * QB, 0f);
        }
    }

    /**
     * One online-softmax step over a block of raw products s (logits {@code cs * s + bias}, in log2
     * units as {@link AttentionKernels#softmaxStep} keeps them): updates the row max/sum and turns s into
     * {@code exp(logit - base)}, base being the running max after this block, saved in {@code base};
     * causal keys after the query and rows past kn become 0. Step 2 rescales by {@code exp(base - max)/sum}.
     */
    private void exponentials(float[] s, int kn, float cs, float bias, int keyMinusQuery, float[] baseOut) {
        float cs2 = cs * LOG2E, bias2 = bias * LOG2E;
        boolean causal = plan.causal();
        for (int col = 0; col < QB; col += L) {
            FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (int t = 0, o = col; t < kn; t++, o += QB) {
                FloatVector x = FloatVector.fromArray(F, s, o).fma(cs2, bias2);
                if (causal) x = maskFutureKeys(x, keyMinusQuery + t - col);
                max = max.max(x);
            }
            FloatVector mOld = FloatVector.fromArray(F, m, col), mNew = max.max(mOld);
            FloatVector base = mNew.blend(0f, mNew.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY));
            FloatVector sum = FloatVector.zero(F);
            for (int t = 0, o = col; t < kn; t++, o += QB) {
                FloatVector x = FloatVector.fromArray(F, s, o).fma(cs2, bias2);
                if (causal) x = maskFutureKeys(x, keyMinusQuery + t - col);
                FloatVector e = AttentionKernels.pow2(x.sub(base));
                e.intoArray(s, o);
                sum = sum.add(e);
            }
            FloatVector alpha = AttentionKernels.pow2(mOld.sub(base));
            base.intoArray(baseOut, col);
            mNew.intoArray(m, col);
            FloatVector.fromArray(F, l, col).fma(alpha, sum).intoArray(l, col);
        }
    }

    /** Lane i masked (-inf) when the key lies after its query: key index - lane 0's query index > i. */
    private static FloatVector maskFutureKeys(FloatVector x, int keyMinusLane0) {
        if (keyMinusLane0 <= 0) return x;
        return x.blend(Float.NEGATIVE_INFINITY, IOTA.compare(VectorOperators.LT, (float) keyMinusLane0));
    }

    /** Step 2 over segment j: kept exponentials become P (zero past the last key); rowSum += rowsum(P (dP + G)). */
    private void probabilities(int j, int p, int q0, int rows, boolean captured) {
        int n = plan.panels().tokens(p), lastQuery = q0 + rows - 1;
        for (int k0 = 0, b = firstBlock[j]; k0 < n; k0 += QB, b++) {
            if (plan.causal() && k0 > lastQuery) break;
            int kn = Math.min(QB, n - k0);
            float[] s = sBlocks[b], dp = dpBlocks[b];
            Arrays.fill(s, kn * QB, QB * QB, 0f);
            for (int col = 0; col < QB; col += L) {
                FloatVector mFinal = FloatVector.fromArray(F, m, col);
                mFinal = mFinal.blend(0f, mFinal.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY));
                FloatVector scale = AttentionKernels.pow2(FloatVector.fromArray(F, baseBlocks[b], col).sub(mFinal))
                        .div(FloatVector.fromArray(F, l, col));
                FloatVector sum = FloatVector.fromArray(F, rowSum, col);
                for (int t = 0, o = col; t < kn; t++, o += QB) {
                    FloatVector pr = FloatVector.fromArray(F, s, o).mul(scale);
                    pr.intoArray(s, o);
                    FloatVector g = FloatVector.fromArray(F, dp, o);
                    if (captured) g = g.add(FloatVector.fromArray(F, gt, k0 * QB + o));
                    sum = pr.fma(g, sum);
                }
                sum.intoArray(rowSum, col);
            }
        }
    }

    /** Step 3 over segment j's kept blocks, with the (scaled) output-gradient rows {@code dOr}. */
    private void backward(int j, int p, int head, int q0, int rows, float[] dOr, boolean captured, Partials acc) {
        float[] k = plan.paddedKeys()[p * plan.heads() + head];
        int n = plan.panels().tokens(p), lastQuery = q0 + rows - 1, rows4 = KvPanels.roundUp4(rows);
        float cs = plan.logitScale()[j];
        for (int k0 = 0, blk = 0; k0 < n; k0 += QB, blk++) {
            if (plan.causal() && k0 > lastQuery) break;
            int kn = Math.min(QB, n - k0), kn4 = KvPanels.roundUp4(kn);
            float[] s = sBlocks[firstBlock[j] + blk], ds = dpBlocks[firstBlock[j] + blk];
            scoreGrads(s, ds, kn, cs, captured ? k0 : -1);
            AttentionKernels.accumulate(k, k0 * vs, vs, vs, ds, kn4, dqt);
            if (plan.dOut() != null) {
                transpose(s, pt);
                AttentionKernels.accumulate(dOr, 0, vs, vs, pt, rows4, acc.dv()[j][blk]);
            }
            transpose(ds, pt);
            AttentionKernels.accumulate(qr, 0, vs, vs, pt, rows4, acc.dk()[j][blk]);
        }
    }

    /** dp = cs * P * (dp (+ G) - rowSum) on the block's kn keys, in place; zero on the rest of the tile. */
    private void scoreGrads(float[] s, float[] dp, int kn, float cs, int mapKey0) {
        for (int col = 0; col < QB; col += L) {
            FloatVector d = FloatVector.fromArray(F, rowSum, col);
            for (int t = 0, o = col; t < kn; t++, o += QB) {
                FloatVector g = FloatVector.fromArray(F, dp, o);
                if (mapKey0 >= 0) g = g.add(FloatVector.fromArray(F, gt, mapKey0 * QB + o));
                FloatVector.fromArray(F, s, o).mul(g.sub(d)).mul(cs).intoArray(dp, o);
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
