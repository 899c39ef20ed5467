package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AdaInSpec;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionMode;
import dev.diffuse4j.runtime.ops.AttentionResult;
import dev.diffuse4j.runtime.ops.KvSegment;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

import static dev.diffuse4j.runtime.cpu.AttentionKernels.QB;

/**
 * The attention op of DESIGN §3 on the CPU: exact F32 arithmetic (max-subtracted online softmax),
 * never materialising more than one [KB, QB] logit tile per worker. The call is validated, AdaIN
 * statistics are taken, keys/values are packed per (row, head) ({@link KvPanels}), then (item, head,
 * query block) tasks run in parallel ({@link QueryBlock}); with map capture a task owns all heads of
 * its query block so it can average them without sharing writes.
 */
final class CpuAttention {
    private CpuAttention() {}

    static AttentionResult attention(AttentionCall call) {
        check(call);
        Tensor q = call.q();
        int items = q.dim(0), queries = q.dim(1), dim = q.dim(2), heads = call.heads(), headDim = dim / heads;
        List<KvSegment> segments = call.segments();
        int count = segments.size();

        AttentionSetup setup = AttentionSetup.of(call);
        int capture = call.captureSegment();
        Tensor out = Tensor.zeros(DType.F32, items, queries, dim);
        Tensor maps = capture >= 0 ? Tensor.zeros(DType.F32, items, queries, segments.get(capture).k().dim(1)) : null;
        if (items == 0 || queries == 0) return new AttentionResult(out, maps);

        KvPanels panels = KvPanels.pack(segments, items, heads, headDim, setup.keyAffine(), setup.valueAffine());
        AttentionPlan plan = new AttentionPlan(items, queries, heads, headDim, call.mode(), call.causal(),
                setup.logitScale(), setup.logitBias(), setup.weight(), new TokenRows(q), setup.queryAffine(), panels,
                capture, out.cpuSegment(), maps == null ? null : maps.cpuSegment());
        if (capture < 0) run(plan);
        else runCapturing(plan, maps.dim(2));
        return new AttentionResult(out, maps);
    }

    private static void run(AttentionPlan plan) {
        int blocks = (plan.queries() + QB - 1) / QB, heads = plan.heads();
        Parallel.forRange(plan.items() * heads * blocks, 1, (lo, hi) -> {
            QueryBlock worker = new QueryBlock(plan);
            for (int t = lo; t < hi; t++) worker.run(t / (heads * blocks), t / blocks % heads, t % blocks * QB, null);
        });
    }

    private static void runCapturing(AttentionPlan plan, int mapTokens) {
        int blocks = (plan.queries() + QB - 1) / QB;
        Parallel.forRange(plan.items() * blocks, 1, (lo, hi) -> {
            QueryBlock worker = new QueryBlock(plan);
            float[] maps = new float[QB * mapTokens];
            for (int t = lo; t < hi; t++) {
                int item = t / blocks, q0 = t % blocks * QB, rows = Math.min(QB, plan.queries() - q0);
                Arrays.fill(maps, 0f);
                for (int h = 0; h < plan.heads(); h++) worker.run(item, h, q0, maps);
                if (plan.panels().panel(plan.capture(), item) < 0) continue;
                long at = ((long) item * plan.queries() + q0) * mapTokens * 4;
                MemorySegment.copy(maps, 0, plan.maps(), ValueLayout.JAVA_FLOAT_UNALIGNED, at, rows * mapTokens);
            }
        });
    }

    // ---------------------------------------------------------------- validation

    static void check(AttentionCall call) {
        Tensor q = call.q();
        if (q == null) throw new IllegalArgumentException("attention: no queries");
        if (q.rank() != 3) throw new IllegalArgumentException("attention: q must be [B, Nq, H*D], got " + q.describe());
        checkDtype("q", q);
        int items = q.dim(0), queries = q.dim(1), dim = q.dim(2), heads = call.heads();
        if (heads < 1 || dim == 0 || dim % heads != 0)
            throw new IllegalArgumentException("attention: q " + q.describe() + " has " + dim + " channels, which " + heads + " heads do not split evenly");
        if (call.mode() == null) throw new IllegalArgumentException("attention: no mode (JOINT or STRATIFIED)");
        List<KvSegment> segments = call.segments();
        if (segments.isEmpty()) throw new IllegalArgumentException("attention: no key/value segments for q " + q.describe());
        for (int j = 0; j < segments.size(); j++) checkSegment(j, segments.get(j), q);
        for (int b = 0; b < items; b++) {
            boolean present = false;
            float weight = 0;
            for (KvSegment seg : segments) {
                if (seg.rowFor(b, items) < 0) continue;
                present = true;
                weight += seg.weight();
            }
            if (!present) throw new IllegalArgumentException("attention: item " + b + " of q " + q.describe() + " has no present key/value segment (every item map gives -1)");
            if (call.mode() == AttentionMode.STRATIFIED && (weight == 0f || !Float.isFinite(weight)))
                throw new IllegalArgumentException("attention: stratified weights of the segments present for item " + b + " sum to " + weight + "; they must sum to a finite non-zero value");
        }
        if (call.causal()) {
            Tensor k = segments.get(0).k();
            if (segments.size() != 1 || k.dim(1) != queries)
                throw new IllegalArgumentException("attention: causal masking needs one segment with as many keys as queries; got q "
                        + q.describe() + " and " + segments.size() + " segment(s), the first with keys " + k.describe());
        }
        int capture = call.captureSegment();
        if (capture < -1 || capture >= segments.size())
            throw new IllegalArgumentException("attention: capture segment " + capture + " does not exist (" + segments.size() + " segments)");
        if (call.adain() != null) checkAdaIn(call.adain(), q, segments.get(0));
    }

    private static void checkSegment(int j, KvSegment seg, Tensor q) {
        Tensor k = seg.k(), v = seg.v();
        String name = "attention: segment " + j + " ";
        if (k.rank() != 3 || v.rank() != 3)
            throw new IllegalArgumentException(name + "keys " + k.describe() + " and values " + v.describe() + " must be [Bk, Nk, H*D] like q " + q.describe());
        checkDtype("segment " + j + " keys", k);
        checkDtype("segment " + j + " values", v);
        if (k.dim(2) != q.dim(2))
            throw new IllegalArgumentException(name + "keys " + k.describe() + " do not have the " + q.dim(2) + " channels of q " + q.describe());
        if (!Arrays.equals(k.shape(), v.shape()))
            throw new IllegalArgumentException(name + "values " + v.describe() + " do not match its keys " + k.describe());
        if (k.dim(1) == 0) throw new IllegalArgumentException(name + "has no tokens: keys " + k.describe());
        int items = q.dim(0), rows = k.dim(0);
        int[] map = seg.itemMap();
        if (map == null) {
            if (rows != items && rows != 1)
                throw new IllegalArgumentException(name + "keys " + k.describe() + " have " + rows + " rows for the " + items
                        + " items of q " + q.describe() + "; give 1 row, " + items + " rows or an item map");
            return;
        }
        if (map.length != items)
            throw new IllegalArgumentException(name + "item map has " + map.length + " entries for the " + items + " items of q " + q.describe());
        for (int b = 0; b < items; b++)
            if (map[b] < -1 || map[b] >= rows)
                throw new IllegalArgumentException(name + "item map sends item " + b + " to row " + map[b] + " but keys " + k.describe() + " have " + rows + " rows");
    }

    private static void checkAdaIn(AdaInSpec adain, Tensor q, KvSegment s0) {
        int items = q.dim(0);
        int[] ref = adain.refItem();
        if (ref.length != items)
            throw new IllegalArgumentException("attention: AdaIN refItem has " + ref.length + " entries for the " + items + " items of q " + q.describe());
        boolean any = false;
        for (int b = 0; b < items; b++) {
            if (ref[b] < -1 || ref[b] >= items)
                throw new IllegalArgumentException("attention: AdaIN refItem[" + b + "] = " + ref[b] + " is not an item of q " + q.describe());
            any |= ref[b] >= 0;
        }
        if (!(adain.eps() >= 0f) || !Float.isFinite(adain.eps()))
            throw new IllegalArgumentException("attention: AdaIN eps must be finite and >= 0, got " + adain.eps());
        if (!any) return;
        if (adain.queries() && q.dim(1) < 2)
            throw new IllegalArgumentException("attention: AdaIN of queries needs at least 2 tokens for a variance; q is " + q.describe());
        if ((adain.keys() || adain.values()) && s0.k().dim(1) < 2)
            throw new IllegalArgumentException("attention: AdaIN of keys/values needs at least 2 tokens for a variance; segment 0 keys are " + s0.k().describe());
    }

    private static void checkDtype(String what, Tensor t) {
        if (!TokenRows.readable(t.dtype()))
            throw new IllegalArgumentException("attention: " + what + " " + t.describe() + " must be F32, F16 or BF16");
    }
}
