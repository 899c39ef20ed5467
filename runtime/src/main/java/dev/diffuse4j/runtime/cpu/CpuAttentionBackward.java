package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AdaInSpec;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionGrads;
import dev.diffuse4j.runtime.ops.KvSegment;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.diffuse4j.runtime.cpu.AttentionKernels.QB;

/**
 * Reverse mode of the CPU attention op ({@link CpuAttention}): every feature of the forward, AdaIN
 * included (through the statistics of both the normalised row and its reference).
 * <p>
 * Phases: (1) validate, take AdaIN maps and pack K/V exactly as the forward does; (2) in parallel over
 * (item, head, query chunk) tasks, {@link BackwardBlock} recomputes the softmax per query block and
 * writes dL/dq' (disjoint rows) and the task's own partial dL/dk', dL/dv' for every segment the item
 * reads, so items sharing a broadcast or mapped row never write the same memory; (3) in parallel over
 * heads (disjoint channels), partials are summed in item order into the raw rows (deterministic), and
 * AdaIN'd rows go through {@link AdaInBackward}. Memory: O(QB * N) scratch per worker plus the
 * partials, about (items * chunks) copies of the key/value gradients.
 * <p>
 * Gradients are computed in F32 and returned in the dtype of the input they belong to.
 */
final class CpuAttentionBackward {
    private CpuAttentionBackward() {}

    static AttentionGrads backward(AttentionCall call, Tensor dOut, Tensor dMaps) {
        CpuAttention.check(call);
        checkGrads(call, dOut, dMaps);
        Tensor q = call.q();
        int items = q.dim(0), queries = q.dim(1), dim = q.dim(2), heads = call.heads(), headDim = dim / heads;
        List<KvSegment> segments = call.segments();
        int count = segments.size();

        AdaInSpec adain = call.adain();
        AttentionSetup setup = AttentionSetup.of(call);
        int[] rows0 = setup.rows0();
        AdaIn.ChannelAffine[] queryAffine = setup.queryAffine(), keyAffine = setup.keyAffine(), valueAffine = setup.valueAffine();

        float[] dqPrime = new float[items * queries * dim];
        float[][] dk = new float[count][], dv = new float[count][];
        for (int j = 0; j < count; j++) {
            Tensor k = segments.get(j).k();
            dk[j] = new float[k.dim(0) * k.dim(1) * dim];
            dv[j] = new float[k.dim(0) * k.dim(1) * dim];
        }
        boolean anyGrad = dOut != null || dMaps != null;
        if (items > 0 && queries > 0 && anyGrad) {
            KvPanels panels = KvPanels.pack(segments, items, heads, headDim, keyAffine, valueAffine);
            int blocks = (queries + QB - 1) / QB;
            int chunks = Math.min(blocks, Math.max(1, (2 * Parallel.threads() + items * heads - 1) / (items * heads)));
            int chunkBlocks = (blocks + chunks - 1) / chunks;
            chunks = (blocks + chunkBlocks - 1) / chunkBlocks;
            BackwardPlan plan = new BackwardPlan(items, queries, heads, headDim, call.mode(), call.causal(),
                    setup.logitScale(), setup.logitBias(), setup.weight(), new TokenRows(q), queryAffine, panels, paddedKeys(panels, segments, items),
                    call.captureSegment(), dOut == null ? null : new TokenRows(dOut), dMaps == null ? null : new TokenRows(dMaps),
                    chunks, chunkBlocks * QB);

            BackwardBlock.Partials[] partials = new BackwardBlock.Partials[plan.tasks()];
            Parallel.forRange(plan.tasks(), 1, (lo, hi) -> {
                BackwardBlock worker = new BackwardBlock(plan);
                for (int t = lo; t < hi; t++) {
                    int item = plan.taskItem(t), head = plan.taskHead(t), start = plan.taskChunk(t) * plan.chunkQueries();
                    BackwardBlock.Partials acc = BackwardBlock.partialsFor(plan, item);
                    for (int q0 = start; q0 < Math.min(queries, start + plan.chunkQueries()); q0 += QB)
                        worker.run(item, head, q0, acc, dqPrime);
                    partials[t] = acc;
                }
            });

            AdaIn.ChannelAffine[] ka = keyAffine, va = valueAffine;
            KvSegment s0 = segments.get(0);
            double[][][] keyStats = ka == null ? null : statsOfAdaInRows(s0.k(), ka, adain, rows0);
            double[][][] valueStats = va == null ? null : statsOfAdaInRows(s0.v(), va, adain, rows0);
            Parallel.forEach(heads, h -> {
                for (int j = 0; j < count; j++) {
                    reduce(plan, partials, segments.get(j), j, h, true, j == 0 ? ka : null, keyStats, adain, rows0, dk[j]);
                    reduce(plan, partials, segments.get(j), j, h, false, j == 0 ? va : null, valueStats, adain, rows0, dv[j]);
                }
            });
        }

        float[] dq = dqPrime;
        if (queryAffine != null) dq = queryGrads(q, queryAffine, adain, dqPrime, heads, headDim);
        List<Tensor> dks = new ArrayList<>(), dvs = new ArrayList<>();
        for (int j = 0; j < count; j++) {
            KvSegment seg = segments.get(j);
            dks.add(tensor(dk[j], seg.k()));
            dvs.add(tensor(dv[j], seg.v()));
        }
        return new AttentionGrads(tensor(dq, q), dks, dvs);
    }

    /** Keys of every (panel, head) re-laid with the values' padded stride, so products run over the same channel count. */
    private static float[][] paddedKeys(KvPanels panels, List<KvSegment> segments, int items) {
        int count = 0;
        for (int j = 0; j < segments.size(); j++)
            for (int b = 0; b < items; b++) count = Math.max(count, panels.panel(j, b) + 1);
        int heads = panels.heads, d = panels.headDim, vs = panels.valueStride;
        float[][] out = new float[count * heads][];
        Parallel.forEach(count * heads, i -> {
            int p = i / heads, h = i % heads, rows4 = KvPanels.roundUp4(panels.tokens(p));
            float[] k = panels.keys(p, h), padded = new float[rows4 * vs];
            for (int n = 0; n < rows4; n++) System.arraycopy(k, n * d, padded, n * vs, d);
            out[i] = padded;
        });
        return out;
    }

    /**
     * Adds head h's key (or value) gradients of segment j into {@code raw} ([Bk, N, H*D]): per item in
     * order, its tasks' partials go straight to the row it reads, or through AdaIN's backward when the
     * item read an AdaIN'd copy of the row ({@code stats}: those of the rows AdaIN reads).
     */
    private static void reduce(BackwardPlan plan, BackwardBlock.Partials[] partials, KvSegment seg, int j, int h, boolean keys,
                               AdaIn.ChannelAffine[] affine, double[][][] stats, AdaInSpec adain, int[] rows0, float[] raw) {
        Tensor source = keys ? seg.k() : seg.v();
        int items = plan.items(), tokens = source.dim(1), dim = plan.dim(), d = plan.headDim(), c0 = h * d;
        float[] g = new float[tokens * d];
        for (int b = 0; b < items; b++) {
            if (plan.panels().panel(j, b) < 0) continue;
            boolean normalised = affine != null && affine[b] != null;
            int row = seg.rowFor(b, items);
            if (normalised) Arrays.fill(g, 0f);
            for (int c = 0; c < plan.chunks(); c++) {
                BackwardBlock.Partials part = partials[plan.task(b, h, c)];
                float[][] blocks = keys ? part.dk()[j] : part.dv()[j];
                for (int blk = 0; blk < blocks.length; blk++) {
                    float[] tile = blocks[blk];
                    int k0 = blk * QB, kn = Math.min(QB, tokens - k0);
                    for (int n = 0; n < kn; n++) {
                        if (normalised) {
                            for (int e = 0, o = n; e < d; e++, o += QB) g[(k0 + n) * d + e] += tile[o];
                        } else {
                            int at = (row * tokens + k0 + n) * dim + c0;
                            for (int e = 0, o = n; e < d; e++, o += QB) raw[at + e] += tile[o];
                        }
                    }
                }
            }
            if (!normalised) continue;
            AdaInBackward.accumulate(new TokenRows(source), row, rows0[adain.refItem()[b]], stats, tokens, dim, adain.eps(),
                    g, 0, d, raw, c0, d);
        }
    }

    /** Statistics of the rows of segment 0's keys or values that AdaIN reads (both sides). */
    private static double[][][] statsOfAdaInRows(Tensor source, AdaIn.ChannelAffine[] affine, AdaInSpec adain, int[] rows0) {
        boolean[] needed = new boolean[source.dim(0)];
        for (int b = 0; b < affine.length; b++) {
            if (affine[b] == null) continue;
            needed[rows0[b]] = true;
            needed[rows0[adain.refItem()[b]]] = true;
        }
        return AdaInBackward.stats(new TokenRows(source), needed, source.dim(1), source.dim(2));
    }

    /** dL/dq from dL/dq' through the queries' AdaIN (items without a map pass straight through). */
    private static float[] queryGrads(Tensor q, AdaIn.ChannelAffine[] affine, AdaInSpec adain, float[] dqPrime, int heads, int headDim) {
        int items = q.dim(0), tokens = q.dim(1), dim = q.dim(2);
        int[] self = new int[items];
        for (int b = 0; b < items; b++) self[b] = b;
        double[][][] stats = statsOfAdaInRows(q, affine, adain, self);
        float[] dq = new float[dqPrime.length];
        TokenRows rows = new TokenRows(q);
        Parallel.forEach(heads, h -> {
            int c0 = h * headDim;
            for (int b = 0; b < items; b++) {
                int off = b * tokens * dim + c0;
                if (affine[b] == null) {
                    for (int n = 0; n < tokens; n++)
                        for (int e = 0; e < headDim; e++) dq[off + n * dim + e] += dqPrime[off + n * dim + e];
                } else {
                    AdaInBackward.accumulate(rows, b, adain.refItem()[b], stats, tokens, dim, adain.eps(),
                            dqPrime, off, dim, dq, c0, headDim);
                }
            }
        });
        return dq;
    }

    /** An F32 gradient as a tensor of {@code like}'s shape and dtype. */
    private static Tensor tensor(float[] data, Tensor like) {
        Tensor f = Tensor.of(data, like.shape());
        if (like.dtype() == DType.F32) return f;
        try (f) { return CpuBackend.INSTANCE.cast(f, like.dtype()); }
    }

    // ---------------------------------------------------------------- validation

    private static void checkGrads(AttentionCall call, Tensor dOut, Tensor dMaps) {
        Tensor q = call.q();
        if (dOut != null) {
            if (dOut.rank() != 3 || !Arrays.equals(dOut.shape(), q.shape()))
                throw new IllegalArgumentException("attention backward: dOut " + dOut.describe() + " must have the shape of the output, q's " + q.describe());
            if (!TokenRows.readable(dOut.dtype()))
                throw new IllegalArgumentException("attention backward: dOut " + dOut.describe() + " must be F32, F16 or BF16");
        }
        if (dMaps != null) {
            int c = call.captureSegment();
            if (c < 0) throw new IllegalArgumentException("attention backward: dMaps " + dMaps.describe() + " given but the call captures no segment");
            int[] expected = {q.dim(0), q.dim(1), call.segments().get(c).k().dim(1)};
            if (!Arrays.equals(dMaps.shape(), expected))
                throw new IllegalArgumentException("attention backward: dMaps " + dMaps.describe() + " must be " + Arrays.toString(expected)
                        + " (items, queries, keys of capture segment " + c + ")");
            if (!TokenRows.readable(dMaps.dtype()))
                throw new IllegalArgumentException("attention backward: dMaps " + dMaps.describe() + " must be F32, F16 or BF16");
        }
    }
}
