package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AdaInSpec;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionMode;
import dev.diffuse4j.runtime.ops.AttentionResult;
import dev.diffuse4j.runtime.ops.KvSegment;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static dev.diffuse4j.runtime.cpu.AttentionTestData.assertClose;
import static dev.diffuse4j.runtime.cpu.AttentionTestData.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The CPU attention op against the float64 reference of {@link AttentionReference}. */
class AttentionTest {
    private static final double ATOL = 2e-5, RTOL = 1e-4;

    private static AttentionResult check(AttentionCall call, String what) { return check(call, what, ATOL); }

    private static AttentionResult check(AttentionCall call, String what, double atol) {
        AttentionResult got = CpuAttention.attention(call); // the F32 result (the backend rounds half inputs: HalfStorageTest)
        AttentionReference.Result want = AttentionReference.run(call);
        assertArrayEquals(call.q().shape(), got.out().shape(), what + ": output shape");
        assertClose(want.out(), got.out().toFloatArray(), atol, RTOL, what + ": output");
        if (want.maps() == null) assertNull(got.maps(), what + ": maps");
        else assertClose(want.maps(), got.maps().toFloatArray(), atol, RTOL, what + ": maps");
        return got;
    }

    @Test
    void plainAttentionOverOddSizes() {
        Random r = AttentionTestData.random("plainAttentionOverOddSizes");
        int[] tokens = {1, 5, 77, 130};
        int[] headDims = {8, 40, 64, 80, 33};
        for (int nq : tokens)
            for (int nk : tokens)
                for (int d : headDims) {
                    int heads = 1 + r.nextInt(8), items = 1 + r.nextInt(2);
                    Tensor q = randn(r, 1f, items, nq, heads * d);
                    Tensor k = randn(r, 1f, items, nk, heads * d);
                    Tensor v = randn(r, 1f, items, nk, heads * d);
                    check(AttentionCall.plain(q, k, v, heads), "plain B=" + items + " Nq=" + nq + " Nk=" + nk + " H=" + heads + " D=" + d);
                }
    }

    @Test
    void manyKeyAndQueryBlocksWithLargeLogits() {
        // Logits of several hundred: a softmax without max subtraction overflows, and the running
        // max changes between key blocks, exercising the online rescaling. F32 products of this size
        // carry absolute logit errors ~1e-4, hence the looser tolerance.
        Random r = AttentionTestData.random("manyKeyAndQueryBlocksWithLargeLogits");
        int heads = 3, d = 24;
        Tensor q = randn(r, 4f, 2, 200, heads * d);
        Tensor k = randn(r, 4f, 2, 420, heads * d);
        Tensor v = randn(r, 1f, 2, 420, heads * d);
        check(AttentionCall.plain(q, k, v, heads).withScale(1f), "large logits", 5e-4);
        check(AttentionCall.plain(q, k, v, heads).withScale(1f).withCapture(0), "large logits with maps", 5e-4);
    }

    @Test
    void jointSegmentsWithItemMapsBroadcastScaleBiasAndCapture() {
        Random r = AttentionTestData.random("jointSegmentsWithItemMapsBroadcastScaleBiasAndCapture");
        int items = 4, heads = 5, d = 16, dim = heads * d;
        Tensor q = randn(r, 1f, items, 70, dim);
        KvSegment own = KvSegment.of(randn(r, 1f, items, 70, dim), randn(r, 1f, items, 70, dim));
        KvSegment ref = KvSegment.of(randn(r, 1f, 2, 150, dim), randn(r, 1f, 2, 150, dim))
                .withItemMap(new int[]{0, -1, 1, 0}).withLogitScale(0.7f).withLogitBias(0.3f);
        KvSegment shared = KvSegment.of(randn(r, 1f, 1, 9, dim), randn(r, 1f, 1, 9, dim)).withLogitBias(-1.5f);
        AttentionCall call = new AttentionCall(q, heads, List.of(own, ref, shared), AttentionMode.JOINT, Float.NaN, false, null, -1);
        check(call, "joint");
        for (int c = 0; c < 3; c++) check(call.withCapture(c), "joint capturing segment " + c);
    }

    @Test
    void stratifiedSegmentsWithWeightsAbsentItemsAndCapture() {
        Random r = AttentionTestData.random("stratifiedSegmentsWithWeightsAbsentItemsAndCapture");
        int items = 3, heads = 2, d = 40, dim = heads * d;
        Tensor q = randn(r, 1f, items, 77, dim);
        KvSegment own = KvSegment.of(randn(r, 1f, items, 77, dim), randn(r, 1f, items, 77, dim)).withWeight(0.8f);
        KvSegment ref = KvSegment.of(randn(r, 1f, 1, 130, dim), randn(r, 1f, 1, 130, dim))
                .withItemMap(new int[]{-1, 0, 0}).withWeight(1.7f).withLogitScale(1.3f).withLogitBias(2f);
        AttentionCall call = new AttentionCall(q, heads, List.of(own, ref), AttentionMode.STRATIFIED, Float.NaN, false, null, -1);
        check(call, "stratified");
        check(call.withCapture(0), "stratified capturing segment 0");
        check(call.withCapture(1), "stratified capturing segment 1");
        check(call.withScale(0.05f), "stratified with explicit scale");
    }

    @Test
    void causalMasking() {
        Random r = AttentionTestData.random("causalMasking");
        for (int n : new int[]{1, 5, 77, 130}) {
            Tensor q = randn(r, 1f, 2, n, 96), k = randn(r, 1f, 2, n, 96), v = randn(r, 1f, 2, n, 96);
            check(AttentionCall.plain(q, k, v, 12).withCausal(true), "causal N=" + n);
            check(AttentionCall.plain(q, k, v, 12).withCausal(true).withCapture(0), "causal with maps N=" + n);
        }
    }

    @Test
    void adainOfQueriesKeysAndValues() {
        Random r = AttentionTestData.random("adainOfQueriesKeysAndValues");
        int items = 4, heads = 2, d = 33, dim = heads * d;
        // Different means and spreads per item, so AdaIN changes things a lot.
        Tensor q = shifted(r, items, 60, dim), k = shifted(r, items, 60, dim), v = shifted(r, items, 60, dim);
        int[] refs = {0, 0, -1, 2};
        KvSegment own = KvSegment.of(k, v);
        KvSegment ref = KvSegment.of(k, v).withItemMap(new int[]{0, 0, 2, 2}).withLogitBias((float) Math.log(2));
        AttentionCall joint = new AttentionCall(q, heads, List.of(own, ref), AttentionMode.JOINT, Float.NaN, false,
                AdaInSpec.queriesAndKeys(refs), -1);
        check(joint, "AdaIN of Q and K");
        check(joint.withAdaIn(new AdaInSpec(refs, true, true, true, 1e-3f)), "AdaIN of Q, K and V");
        check(joint.withAdaIn(new AdaInSpec(refs, false, true, false, 1e-5f)), "AdaIN of K only");
        check(joint.withAdaIn(new AdaInSpec(new int[]{3, 3, 3, -1}, true, false, true, 1e-5f)).withMode(AttentionMode.STRATIFIED),
                "AdaIN of Q and V, stratified");
        // Segment 0 itself mapped: item b reads row map[b] and is normalised to the row its reference reads.
        KvSegment mapped = KvSegment.of(k, v).withItemMap(new int[]{1, 3, 0, 2});
        check(new AttentionCall(q, heads, List.of(mapped), AttentionMode.JOINT, Float.NaN, false,
                AdaInSpec.queriesAndKeys(new int[]{2, 0, 1, 1}), 0), "AdaIN through an item map, with maps");
    }

    private static Tensor shifted(Random r, int items, int n, int dim) {
        float[] a = randn(r, 1f, items, n, dim).toFloatArray();
        for (int b = 0; b < items; b++)
            for (int c = 0; c < dim; c++) {
                float scale = 0.3f + 2f * r.nextFloat(), shift = (float) r.nextGaussian() * 2f;
                for (int t = 0; t < n; t++) {
                    int i = (b * n + t) * dim + c;
                    a[i] = a[i] * scale + shift;
                }
            }
        return Tensor.of(a, items, n, dim);
    }

    @Test
    void stridedViews() {
        Random r = AttentionTestData.random("stridedViews");
        int items = 2, n = 77, heads = 4, d = 20, dim = heads * d;
        // q/k/v as channel slices of one fused projection [B, N, 3*dim]
        Tensor fused = randn(r, 1f, items, n, 3 * dim);
        Tensor q = fused.slice(2, 0, dim), k = fused.slice(2, dim, 2 * dim), v = fused.slice(2, 2 * dim, 3 * dim);
        check(AttentionCall.plain(q, k, v, heads), "fused qkv slices");
        // token-major storage [N, B, dim] seen as [B, N, dim]; keys with a non-unit channel stride
        Tensor qT = randn(r, 1f, n, items, dim).transpose(0, 1);
        Tensor kC = randn(r, 1f, items, dim, 50).transpose(1, 2);
        Tensor vT = randn(r, 1f, 50, items, dim).transpose(0, 1);
        check(AttentionCall.plain(qT, kC, vT, heads).withCapture(0), "transposed views");
        check(AttentionCall.plain(qT, kC, vT, heads).withAdaIn(new AdaInSpec(new int[]{1, 1}, true, true, true, 1e-5f)),
                "transposed views with AdaIN");
    }

    @Test
    void halfPrecisionInputs() {
        Random r = AttentionTestData.random("halfPrecisionInputs");
        int items = 2, heads = 8, d = 40, dim = heads * d;
        for (DType dt : new DType[]{DType.F16, DType.BF16}) {
            Tensor q = AttentionTestData.as(randn(r, 1f, items, 100, dim), dt);
            Tensor k = AttentionTestData.as(randn(r, 1f, items, 77, dim), dt);
            Tensor v = AttentionTestData.as(randn(r, 1f, items, 77, dim), dt);
            KvSegment extra = KvSegment.of(AttentionTestData.as(randn(r, 1f, 1, 30, dim), dt), AttentionTestData.as(randn(r, 1f, 1, 30, dim), dt));
            check(AttentionCall.plain(q, k, v, heads), dt + " plain");
            check(new AttentionCall(q, heads, List.of(KvSegment.of(k, v), extra), AttentionMode.JOINT, Float.NaN, false,
                    AdaInSpec.queriesAndKeys(new int[]{0, 0}), 1), dt + " joint with AdaIN and maps");
        }
    }
}
