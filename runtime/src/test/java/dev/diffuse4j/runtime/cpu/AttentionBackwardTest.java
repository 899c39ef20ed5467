package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AdaInSpec;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionGrads;
import dev.diffuse4j.runtime.ops.AttentionMode;
import dev.diffuse4j.runtime.ops.KvSegment;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static dev.diffuse4j.runtime.cpu.AttentionTestData.assertClose;
import static dev.diffuse4j.runtime.cpu.AttentionTestData.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reverse mode of the CPU attention op: gradients against float64 finite differences of the
 * independent reference forward ({@link AttentionGradCheck}) for every feature, plus identities
 * (broadcast = sum over expanded items, joint segments = one concatenated segment).
 * Sizes above {@link AttentionKernels#QB} and not multiples of it exercise several query and key
 * blocks, partial tiles and (with 2+ threads) several query chunks per (item, head).
 */
class AttentionBackwardTest {
    private static final CpuBackend CPU = CpuBackend.INSTANCE;
    private static final double ATOL = 3e-4, RTOL = 2e-3;
    private static final int ALL = Integer.MAX_VALUE;

    private static AttentionGrads checkAgainstFiniteDifferences(Random r, AttentionCall call, boolean out, boolean maps, int samples) {
        Tensor q = call.q();
        Tensor dOut = out ? randn(r, 1f, q.shape()) : null;
        Tensor dMaps = maps ? randn(r, 1f, q.dim(0), q.dim(1), call.segments().get(call.captureSegment()).k().dim(1)) : null;
        AttentionGrads grads = CPU.attentionBackward(call, dOut, dMaps);
        new AttentionGradCheck(call, dOut, dMaps).verify(grads, samples, r, ATOL, RTOL);
        return grads;
    }

    @Test
    void plainSingleSegmentWithSeveralHeads() {
        Random r = AttentionTestData.random("plainSingleSegmentWithSeveralHeads");
        AttentionCall call = AttentionCall.plain(randn(r, 1f, 2, 5, 8), randn(r, 1f, 2, 7, 8), randn(r, 1f, 2, 7, 8), 2);
        checkAgainstFiniteDifferences(r, call, true, false, ALL);
    }

    @Test
    void causalOverSeveralBlocksWithAHeadDimNotAMultipleOfFour() {
        Random r = AttentionTestData.random("causal");
        int n = AttentionKernels.QB + 6;
        AttentionCall call = AttentionCall.plain(randn(r, 1f, 2, n, 6), randn(r, 1f, 2, n, 6), randn(r, 1f, 2, n, 6), 2).withCausal(true);
        checkAgainstFiniteDifferences(r, call, true, false, 100);
    }

    @Test
    void jointBroadcastReferenceWithLogitScaleAndBias() {
        Random r = AttentionTestData.random("jointBroadcast");
        Tensor q = randn(r, 1f, 3, 9, 8);
        KvSegment own = KvSegment.of(randn(r, 1f, 3, 9, 8), randn(r, 1f, 3, 9, 8)).withLogitBias(0.2f);
        KvSegment ref = KvSegment.of(randn(r, 1f, 1, 11, 8), randn(r, 1f, 1, 11, 8)).withLogitScale(1.3f).withLogitBias(-0.4f);
        AttentionCall call = new AttentionCall(q, 2, List.of(own, ref), AttentionMode.JOINT, Float.NaN, false, null, -1);
        checkAgainstFiniteDifferences(r, call, true, false, ALL);
        checkAgainstFiniteDifferences(r, call.withCapture(1), true, true, ALL);
    }

    @Test
    void itemMapWithAbsentItemsAndCapturedMaps() {
        Random r = AttentionTestData.random("itemMap");
        Tensor q = randn(r, 1f, 3, 6, 8);
        KvSegment own = KvSegment.of(randn(r, 1f, 3, 6, 8), randn(r, 1f, 3, 6, 8));
        KvSegment mapped = KvSegment.of(randn(r, 1f, 2, 5, 8), randn(r, 1f, 2, 5, 8)).withItemMap(new int[]{1, -1, 1}).withLogitScale(0.8f);
        AttentionCall call = new AttentionCall(q, 2, List.of(own, mapped), AttentionMode.JOINT, 0.6f, false, null, 1);
        AttentionGrads g = checkAgainstFiniteDifferences(r, call, true, true, ALL);
        float[] dkMapped = g.dk().get(1).toFloatArray();
        for (int i = 0; i < 5 * 8; i++) assertEquals(0f, dkMapped[i], "row 0 of the mapped segment is read by no item");
    }

    @Test
    void stratifiedWithWeightsAbsentSegmentsAndCapture() {
        Random r = AttentionTestData.random("stratified");
        Tensor q = randn(r, 1f, 3, 7, 8);
        KvSegment own = KvSegment.of(randn(r, 1f, 3, 7, 8), randn(r, 1f, 3, 7, 8)).withWeight(0.5f);
        KvSegment ref = KvSegment.of(randn(r, 1f, 1, 6, 8), randn(r, 1f, 1, 6, 8)).withWeight(1.5f);
        KvSegment partial = KvSegment.of(randn(r, 1f, 1, 5, 8), randn(r, 1f, 1, 5, 8)).withItemMap(new int[]{-1, 0, 0}).withWeight(0.7f);
        AttentionCall call = new AttentionCall(q, 2, List.of(own, ref, partial), AttentionMode.STRATIFIED, Float.NaN, false, null, 1);
        checkAgainstFiniteDifferences(r, call, true, true, ALL);
        checkAgainstFiniteDifferences(r, call.withCapture(2), true, true, ALL);
    }

    @Test
    void stratifiedZeroWeightSegmentLearnsOnlyThroughItsMap() {
        Random r = AttentionTestData.random("stratifiedZeroWeight");
        Tensor q = randn(r, 1f, 2, 7, 8);
        KvSegment own = KvSegment.of(randn(r, 1f, 2, 7, 8), randn(r, 1f, 2, 7, 8));
        KvSegment silent = KvSegment.of(randn(r, 1f, 2, 4, 8), randn(r, 1f, 2, 4, 8)).withWeight(0f);
        AttentionCall call = new AttentionCall(q, 2, List.of(own, silent), AttentionMode.STRATIFIED, Float.NaN, false, null, 1);
        AttentionGrads g = checkAgainstFiniteDifferences(r, call, true, true, ALL);
        for (float x : g.dv().get(1).toFloatArray()) assertEquals(0f, x, "values of a zero-weight segment do not reach the output");
    }

    @Test
    void mapsOnlyGiveNoValueGradients() {
        Random r = AttentionTestData.random("mapsOnly");
        Tensor q = randn(r, 1f, 2, 8, 8);
        KvSegment own = KvSegment.of(randn(r, 1f, 2, 8, 8), randn(r, 1f, 2, 8, 8));
        KvSegment text = KvSegment.of(randn(r, 1f, 1, 5, 8), randn(r, 1f, 1, 5, 8)).withLogitScale(1.2f);
        AttentionCall call = new AttentionCall(q, 2, List.of(own, text), AttentionMode.JOINT, Float.NaN, false, null, 1);
        AttentionGrads g = checkAgainstFiniteDifferences(r, call, false, true, ALL);
        for (Tensor dv : g.dv()) for (float x : dv.toFloatArray()) assertEquals(0f, x, "maps do not depend on values");
    }

    @Test
    void causalMapsAndOutputTogether() {
        Random r = AttentionTestData.random("causalMaps");
        AttentionCall call = AttentionCall.plain(randn(r, 1f, 1, 9, 8), randn(r, 1f, 1, 9, 8), randn(r, 1f, 1, 9, 8), 2)
                .withCausal(true).withCapture(0);
        checkAgainstFiniteDifferences(r, call, true, true, ALL);
    }

    @Test
    void adainOfQueriesKeysAndValuesThroughBothStatistics() {
        Random r = AttentionTestData.random("adain");
        Tensor q = randn(r, 1f, 3, 6, 8);
        KvSegment own = KvSegment.of(randn(r, 1f, 3, 6, 8), randn(r, 1f, 3, 6, 8));
        KvSegment ref = KvSegment.of(randn(r, 1f, 1, 5, 8), randn(r, 1f, 1, 5, 8)).withLogitScale(1.1f);
        // item 0 takes item 2's statistics while items 1 and 2 take item 0's: gradients reach both sides
        AdaInSpec adain = new AdaInSpec(new int[]{2, 0, 0}, true, true, true, 1e-3f);
        AttentionCall call = new AttentionCall(q, 2, List.of(own, ref), AttentionMode.JOINT, Float.NaN, false, adain, 1);
        checkAgainstFiniteDifferences(r, call, true, true, ALL);
        AttentionCall styleAligned = call.withAdaIn(AdaInSpec.queriesAndKeys(new int[]{-1, 0, 0}));
        checkAgainstFiniteDifferences(r, styleAligned, true, false, ALL);
    }

    @Test
    void adainWithMappedKeyRows() {
        Random r = AttentionTestData.random("adainMapped");
        Tensor q = randn(r, 1f, 3, 6, 8);
        KvSegment own = KvSegment.of(randn(r, 1f, 2, 7, 8), randn(r, 1f, 2, 7, 8)).withItemMap(new int[]{0, 1, 1});
        AdaInSpec adain = new AdaInSpec(new int[]{-1, 0, 0}, true, true, true, AdaInSpec.DEFAULT_EPS);
        AttentionCall call = new AttentionCall(q, 1, List.of(own), AttentionMode.JOINT, Float.NaN, false, adain, -1);
        checkAgainstFiniteDifferences(r, call, true, false, ALL);
    }

    @Test
    void severalBlocksWithOddSizesInBothModes() {
        Random r = AttentionTestData.random("oddSizes");
        int nq = AttentionKernels.QB + 7, nk = 2 * AttentionKernels.QB + 3;
        Tensor q = randn(r, 1f, 2, nq, 10);
        KvSegment own = KvSegment.of(randn(r, 1f, 2, nk, 10), randn(r, 1f, 2, nk, 10));
        KvSegment ref = KvSegment.of(randn(r, 1f, 1, 13, 10), randn(r, 1f, 1, 13, 10)).withLogitScale(1.2f).withLogitBias(0.3f).withWeight(2f);
        AttentionCall joint = new AttentionCall(q, 2, List.of(own, ref), AttentionMode.JOINT, Float.NaN, false, null, 0);
        checkAgainstFiniteDifferences(r, joint, true, true, 80);
        checkAgainstFiniteDifferences(r, joint.withMode(AttentionMode.STRATIFIED).withCapture(1), true, true, 80);
    }

    // ---------------------------------------------------------------- identities

    @Test
    void broadcastSegmentGradientIsTheSumOverExpandedItems() {
        Random r = AttentionTestData.random("broadcastIdentity");
        int items = 3, nq = AttentionKernels.QB + 5, nk = 67, dim = 16;
        Tensor q = randn(r, 1f, items, nq, dim), own = randn(r, 1f, items, nq, dim);
        float[] k = randn(r, 1f, 1, nk, dim).toFloatArray(), v = randn(r, 1f, 1, nk, dim).toFloatArray();
        float[] kx = new float[items * k.length], vx = new float[items * v.length];
        for (int b = 0; b < items; b++) {
            System.arraycopy(k, 0, kx, b * k.length, k.length);
            System.arraycopy(v, 0, vx, b * v.length, v.length);
        }
        KvSegment self = KvSegment.of(own, own);
        KvSegment shared = KvSegment.of(Tensor.of(k, 1, nk, dim), Tensor.of(v, 1, nk, dim)).withLogitScale(1.4f);
        KvSegment expanded = KvSegment.of(Tensor.of(kx, items, nk, dim), Tensor.of(vx, items, nk, dim)).withLogitScale(1.4f);
        Tensor dOut = randn(r, 1f, items, nq, dim), dMaps = randn(r, 1f, items, nq, nk);
        for (AttentionMode mode : AttentionMode.values()) {
            AttentionGrads a = CPU.attentionBackward(new AttentionCall(q, 4, List.of(self, shared), mode, Float.NaN, false, null, 1), dOut, dMaps);
            AttentionGrads b = CPU.attentionBackward(new AttentionCall(q, 4, List.of(self, expanded), mode, Float.NaN, false, null, 1), dOut, dMaps);
            assertClose(b.dq().toFloatArray(), a.dq().toFloatArray(), 1e-6, 1e-5, mode + " dq");
            assertClose(b.dk().get(0).toFloatArray(), a.dk().get(0).toFloatArray(), 1e-6, 1e-5, mode + " dk of the own segment");
            assertClose(sumOverItems(b.dk().get(1), items), a.dk().get(1).toFloatArray(), 1e-5, 1e-4, mode + " broadcast dk");
            assertClose(sumOverItems(b.dv().get(1), items), a.dv().get(1).toFloatArray(), 1e-5, 1e-4, mode + " broadcast dv");
        }
    }

    private static float[] sumOverItems(Tensor t, int items) {
        float[] all = t.toFloatArray();
        int per = all.length / items;
        float[] sum = new float[per];
        for (int b = 0; b < items; b++) for (int i = 0; i < per; i++) sum[i] += all[b * per + i];
        return sum;
    }

    @Test
    void jointSegmentsEqualOneConcatenatedSegment() {
        Random r = AttentionTestData.random("concatIdentity");
        int items = 2, nq = 70, n0 = 45, n1 = 50, dim = 24;
        Tensor q = randn(r, 1f, items, nq, dim);
        Tensor k0 = randn(r, 1f, items, n0, dim), v0 = randn(r, 1f, items, n0, dim);
        Tensor k1 = randn(r, 1f, items, n1, dim), v1 = randn(r, 1f, items, n1, dim);
        Tensor dOut = randn(r, 1f, items, nq, dim);
        AttentionGrads split = CPU.attentionBackward(new AttentionCall(q, 3, List.of(KvSegment.of(k0, v0), KvSegment.of(k1, v1)),
                AttentionMode.JOINT, Float.NaN, false, null, -1), dOut, null);
        AttentionGrads whole = CPU.attentionBackward(AttentionCall.plain(q, CPU.concat(List.of(k0, k1), 1), CPU.concat(List.of(v0, v1), 1), 3), dOut, null);
        assertClose(whole.dq().toFloatArray(), split.dq().toFloatArray(), 1e-6, 1e-5, "dq");
        assertClose(whole.dk().get(0).toFloatArray(), CPU.concat(split.dk(), 1).toFloatArray(), 1e-6, 1e-5, "dk");
        assertClose(whole.dv().get(0).toFloatArray(), CPU.concat(split.dv(), 1).toFloatArray(), 1e-6, 1e-5, "dv");
    }

    @Test
    void halfPrecisionInputsGetGradientsInTheirDtype() {
        Random r = AttentionTestData.random("halfInputs");
        Tensor q = AttentionTestData.as(randn(r, 1f, 2, 9, 8), DType.F16);
        Tensor k = AttentionTestData.as(randn(r, 1f, 2, 7, 8), DType.BF16), v = AttentionTestData.as(randn(r, 1f, 2, 7, 8), DType.F16);
        Tensor dOut = randn(r, 1f, 2, 9, 8);
        AttentionGrads half = CPU.attentionBackward(AttentionCall.plain(q, k, v, 2), dOut, null);
        AttentionGrads full = CPU.attentionBackward(AttentionCall.plain(AttentionTestData.as(q, DType.F32), AttentionTestData.as(k, DType.F32),
                AttentionTestData.as(v, DType.F32), 2), dOut, null);
        assertEquals(DType.F16, half.dq().dtype());
        assertEquals(DType.BF16, half.dk().get(0).dtype());
        assertEquals(DType.F16, half.dv().get(0).dtype());
        assertClose(full.dq().toFloatArray(), half.dq().toFloatArray(), 1e-3, 2e-3, "dq in F16");
        assertClose(full.dk().get(0).toFloatArray(), half.dk().get(0).toFloatArray(), 1e-2, 1e-2, "dk in BF16");
    }

    @Test
    void noIncomingGradientGivesZeros() {
        Random r = AttentionTestData.random("noGradient");
        AttentionCall call = AttentionCall.plain(randn(r, 1f, 2, 5, 8), randn(r, 1f, 1, 7, 8), randn(r, 1f, 1, 7, 8), 2);
        AttentionGrads g = CPU.attentionBackward(call, null, null);
        assertEquals(List.of(1, 7, 8), List.of(g.dk().get(0).dim(0), g.dk().get(0).dim(1), g.dk().get(0).dim(2)));
        for (float x : g.dq().toFloatArray()) assertEquals(0f, x);
    }

    @Test
    void badGradientsAreRefusedWithTheirShapes() {
        Random r = AttentionTestData.random("badGradients");
        AttentionCall call = AttentionCall.plain(randn(r, 1f, 2, 5, 8), randn(r, 1f, 2, 7, 8), randn(r, 1f, 2, 7, 8), 2);
        var noCapture = assertThrows(IllegalArgumentException.class, () -> CPU.attentionBackward(call, null, randn(r, 1f, 2, 5, 7)));
        assertTrue(noCapture.getMessage().contains("captures no segment"), noCapture.getMessage());
        var wrongOut = assertThrows(IllegalArgumentException.class, () -> CPU.attentionBackward(call, randn(r, 1f, 2, 5, 4), null));
        assertTrue(wrongOut.getMessage().contains("dOut [2, 5, 4]") || wrongOut.getMessage().contains("dOut"), wrongOut.getMessage());
        var wrongMaps = assertThrows(IllegalArgumentException.class, () -> CPU.attentionBackward(call.withCapture(0), null, randn(r, 1f, 2, 5, 6)));
        assertTrue(wrongMaps.getMessage().contains("[2, 5, 7]"), wrongMaps.getMessage());
    }
}
