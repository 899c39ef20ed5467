package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AdaInSpec;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionMode;
import dev.diffuse4j.runtime.ops.AttentionResult;
import dev.diffuse4j.runtime.ops.KvSegment;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static dev.diffuse4j.runtime.cpu.AttentionTestData.assertClose;
import static dev.diffuse4j.runtime.cpu.AttentionTestData.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The identities of DESIGN §6: method-specific calls that must reduce to plain attention. */
class AttentionIdentitiesTest {
    private static final int ITEMS = 2, HEADS = 8, D = 40, DIM = HEADS * D, NQ = 150, NK = 140;
    private static final double TOL = 1e-5;

    private final Random r = AttentionTestData.random(getClass().getSimpleName());
    private final Tensor q = randn(r, 1f, ITEMS, NQ, DIM);
    private final Tensor k = randn(r, 1f, ITEMS, NK, DIM);
    private final Tensor v = randn(r, 1f, ITEMS, NK, DIM);
    private final float[] plain = attend(AttentionCall.plain(q, k, v, HEADS)).out().toFloatArray();

    private static AttentionResult attend(AttentionCall call) { return CpuBackend.INSTANCE.attention(call); }

    private AttentionCall call(AttentionMode mode, KvSegment... segments) {
        return new AttentionCall(q, HEADS, List.of(segments), mode, Float.NaN, false, null, -1);
    }

    private KvSegment extra() { return KvSegment.of(randn(r, 1f, ITEMS, 60, DIM), randn(r, 1f, ITEMS, 60, DIM)); }

    @Test
    void stratifiedWithZeroWeightOnTheExtraSegmentIsPlain() {
        float[] out = attend(call(AttentionMode.STRATIFIED, KvSegment.of(k, v), extra().withWeight(0f))).out().toFloatArray();
        assertClose(plain, out, TOL, 0, "stratified, extra weight 0");
    }

    @Test
    void stratifiedOverTwoCopiesIsPlainForAnyWeights() {
        float[] out = attend(call(AttentionMode.STRATIFIED, KvSegment.of(k, v).withWeight(0.3f), KvSegment.of(k, v).withWeight(2.5f)))
                .out().toFloatArray();
        assertClose(plain, out, TOL, 0, "stratified over [K; K]");
    }

    @Test
    void jointOverTwoCopiesIsPlain() {
        float[] out = attend(call(AttentionMode.JOINT, KvSegment.of(k, v), KvSegment.of(k, v))).out().toFloatArray();
        assertClose(plain, out, TOL, 0, "joint over [K; K]");
    }

    @Test
    void logitBiasLn2OnADuplicateIsPlain() {
        // keys counted e^b = 2 more times: every key weighs 3, which the normalisation cancels
        float[] out = attend(call(AttentionMode.JOINT, KvSegment.of(k, v), KvSegment.of(k, v).withLogitBias((float) Math.log(2))))
                .out().toFloatArray();
        assertClose(plain, out, TOL, 0, "joint over [K; K] with bias ln 2 on the copy");
    }

    @Test
    void adainWithTheItemItselfAsReferenceIsTheIdentity() {
        AdaInSpec self = new AdaInSpec(new int[]{0, 1}, true, true, true, 1e-5f);
        float[] out = attend(AttentionCall.plain(q, k, v, HEADS).withAdaIn(self)).out().toFloatArray();
        assertClose(plain, out, TOL, 0, "AdaIN to itself");
        // and through the arithmetic path: item 1's keys are a shifted, scaled copy of item 0's, so
        // normalising them to item 0 gives item 0's keys back
        float[] k0 = k.slice(0, 0, 1).toFloatArray(), both = new float[2 * k0.length];
        for (int i = 0; i < k0.length; i++) {
            both[i] = k0[i];
            both[k0.length + i] = k0[i] * 3f - 0.5f;
        }
        Tensor kk = Tensor.of(both, 2, NK, DIM);
        Tensor q0 = q.slice(0, 0, 1), v0 = v.slice(0, 0, 1);
        Tensor qq = Tensor.of(concat(q0.toFloatArray(), q0.toFloatArray()), 2, NQ, DIM);
        Tensor vv = Tensor.of(concat(v0.toFloatArray(), v0.toFloatArray()), 2, NK, DIM);
        float[] normalised = attend(AttentionCall.plain(qq, kk, vv, HEADS).withAdaIn(new AdaInSpec(new int[]{-1, 0}, false, true, false, 0f)))
                .out().toFloatArray();
        float[] item0 = Arrays.copyOfRange(normalised, 0, NQ * DIM), item1 = Arrays.copyOfRange(normalised, NQ * DIM, 2 * NQ * DIM);
        assertClose(item0, item1, 1e-4, 0, "keys AdaIN-normalised back to the reference");
    }

    private static float[] concat(float[] a, float[] b) {
        float[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void anItemWithoutTheExtraSegmentGetsExactlyPlainAttention() {
        for (AttentionMode mode : AttentionMode.values()) {
            KvSegment ref = extra().withItemMap(new int[]{1, -1}).withWeight(2f).withLogitBias(1f);
            float[] out = attend(call(mode, KvSegment.of(k, v), ref)).out().toFloatArray();
            int half = NQ * DIM;
            assertArrayEquals(Arrays.copyOfRange(plain, half, 2 * half), Arrays.copyOfRange(out, half, 2 * half), mode + ": item 1 lacks the segment");
            assertFalse(Arrays.equals(Arrays.copyOfRange(plain, 0, half), Arrays.copyOfRange(out, 0, half)), mode + ": item 0 sees the segment");
        }
    }

    @Test
    void mapsAreDistributions() {
        KvSegment own = KvSegment.of(k, v), ref = extra().withItemMap(new int[]{0, -1}).withLogitBias(0.5f);
        // joint: the maps of all segments together sum to 1 for every query
        float[] total = new float[ITEMS * NQ];
        int[] tokens = {NK, 60};
        for (int j = 0; j < 2; j++) {
            AttentionResult res = attend(call(AttentionMode.JOINT, own, ref).withCapture(j));
            assertArrayEquals(new int[]{ITEMS, NQ, tokens[j]}, res.maps().shape());
            float[] maps = res.maps().toFloatArray();
            for (int row = 0; row < ITEMS * NQ; row++)
                for (int t = 0; t < tokens[j]; t++) {
                    float p = maps[row * tokens[j] + t];
                    assertTrue(p >= 0 && p <= 1, "probability " + p);
                    total[row] += p;
                }
        }
        for (int row = 0; row < ITEMS * NQ; row++) assertEquals(1f, total[row], 1e-5, "joint maps of query row " + row);
        // stratified: each segment's map sums to 1 on its own; zero where it is absent
        for (int j = 0; j < 2; j++) {
            float[] maps = attend(call(AttentionMode.STRATIFIED, own, ref).withCapture(j)).maps().toFloatArray();
            for (int row = 0; row < ITEMS * NQ; row++) {
                float sum = 0;
                for (int t = 0; t < tokens[j]; t++) sum += maps[row * tokens[j] + t];
                boolean absent = j == 1 && row >= NQ;
                assertEquals(absent ? 0f : 1f, sum, 1e-5, "stratified map of segment " + j + ", query row " + row);
            }
        }
    }

    @Test
    void inputsAreNotModified() {
        float[] q0 = q.toFloatArray(), k0 = k.toFloatArray(), v0 = v.toFloatArray();
        attend(call(AttentionMode.JOINT, KvSegment.of(k, v), KvSegment.of(k, v).withItemMap(new int[]{0, 0}))
                .withAdaIn(new AdaInSpec(new int[]{0, 0}, true, true, true, 1e-5f)).withCapture(1));
        assertArrayEquals(q0, q.toFloatArray());
        assertArrayEquals(k0, k.toFloatArray());
        assertArrayEquals(v0, v.toFloatArray());
    }
}
