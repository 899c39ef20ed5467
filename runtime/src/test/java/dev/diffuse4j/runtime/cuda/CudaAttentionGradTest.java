package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AdaInSpec;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionGrads;
import dev.diffuse4j.runtime.ops.AttentionMode;
import dev.diffuse4j.runtime.ops.Backends;
import dev.diffuse4j.runtime.ops.KvSegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.diffuse4j.runtime.cuda.CudaTestSupport.backendOrSkip;
import static dev.diffuse4j.runtime.cuda.CudaTestSupport.poison;
import static dev.diffuse4j.runtime.cuda.CudaTestSupport.random;
import static dev.diffuse4j.runtime.cuda.CudaTestSupport.relL2;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The attention backward kernels (attention_grad.cu, {@link CudaAttentionGrad}) against the CPU
 * backward on the same dtype-rounded inputs, for every feature they cover: several segments, item
 * maps with absent items, broadcast rows, logit scale and bias, causal masking, map gradients with or
 * without an output gradient, head dims that leave lanes idle (24, 80, 160). F32 bound 1e-4 (the
 * softmax backward's P (dP - D) cancels, and the two backends sum in different orders; a wrong index
 * gives O(1) errors); F16/BF16 1e-2. Stratified mode too (one set of passes per segment). AdaIN calls
 * keep the host round trip (CudaAttentionBackwardTest). The routing test runs without a GPU.
 */
class CudaAttentionGradTest {
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);

    @Test
    void routesOnlyAdaInToTheHost() {
        Tensor q = random(rnd, DType.F32, 2, 5, 8), k = random(rnd, DType.F32, 2, 6, 8);
        KvSegment a = KvSegment.of(k, k), b = KvSegment.of(k, k).withWeight(0.5f);
        assertTrue(CudaAttentionGrad.supports(AttentionCall.plain(q, k, k, 2)));
        assertTrue(CudaAttentionGrad.supports(new AttentionCall(q, 2, List.of(a, b), AttentionMode.JOINT, Float.NaN, false, null, 1)));
        assertTrue(CudaAttentionGrad.supports(new AttentionCall(q, 2, List.of(a), AttentionMode.STRATIFIED, Float.NaN, false, null, 0)),
                "stratified over one segment is joint attention");
        assertTrue(CudaAttentionGrad.supports(new AttentionCall(q, 2, List.of(a, b), AttentionMode.STRATIFIED, Float.NaN, false, null, -1)));
        assertFalse(CudaAttentionGrad.supports(AttentionCall.plain(q, k, k, 2).withAdaIn(AdaInSpec.queriesAndKeys(new int[]{-1, 0}))));
        Tensor wide = random(rnd, DType.F32, 1, 2, 300);
        assertFalse(CudaAttentionGrad.supports(AttentionCall.plain(wide, wide, wide, 1)), "head dim 300 exceeds the kernels' 256");
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void plainSelfAttentionWithOddSizes(DType dt) {
        for (int[] s : new int[][]{{2, 37, 2, 24}, {1, 65, 1, 80}, {3, 9, 1, 160}, {2, 64, 8, 40}}) {
            int b = s[0], n = s[1], h = s[2], hd = s[2] * s[3];
            Tensor q = random(rnd, dt, b, n, hd), k = random(rnd, dt, b, n + 3, hd), v = random(rnd, dt, b, n + 3, hd);
            check("plain B=" + b + " N=" + n + " H=" + h + " D=" + s[3], dt, AttentionCall.plain(q, k, v, h), random(rnd, dt, b, n, hd), null);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void jointSegmentsWithMapsScalesBiasesAndMapGradients(DType dt) {
        Tensor q = random(rnd, dt, 3, 70, 64);
        KvSegment own = KvSegment.of(random(rnd, dt, 3, 70, 64), random(rnd, dt, 3, 70, 64));
        KvSegment ref = KvSegment.of(random(rnd, dt, 1, 77, 64), random(rnd, dt, 1, 77, 64))
                .withItemMap(new int[]{0, -1, 0}).withLogitScale(1.2f).withLogitBias(0.1f);
        KvSegment shared = KvSegment.of(random(rnd, dt, 2, 19, 64), random(rnd, dt, 2, 19, 64))
                .withItemMap(new int[]{1, 1, -1}).withLogitScale(0.7f).withLogitBias(-0.4f);
        for (int cap : new int[]{-1, 0, 1, 2}) {
            AttentionCall call = new AttentionCall(q, 2, List.of(own, ref, shared), AttentionMode.JOINT, Float.NaN, false, null, cap);
            Tensor dMaps = cap < 0 ? null : random(rnd, DType.F32, 3, 70, call.segments().get(cap).k().dim(1));
            check("joint capture " + cap, dt, call, random(rnd, dt, 3, 70, 64), dMaps);
        }
        AttentionCall mapsOnly = new AttentionCall(q, 2, List.of(own, ref), AttentionMode.JOINT, 0.2f, false, null, 1);
        check("joint, map gradient only", dt, mapsOnly, null, random(rnd, DType.F32, 3, 70, 77));
        check("joint, output gradient only with capture", dt, mapsOnly, random(rnd, dt, 3, 70, 64), null);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void broadcastCausalAndSingleSegmentStratified(DType dt) {
        Tensor q = random(rnd, dt, 3, 33, 32);
        KvSegment broadcast = KvSegment.of(random(rnd, dt, 1, 41, 32), random(rnd, dt, 1, 41, 32));
        check("broadcast row", dt, new AttentionCall(q, 4, List.of(broadcast), AttentionMode.JOINT, Float.NaN, false, null, 0),
                random(rnd, dt, 3, 33, 32), random(rnd, DType.F32, 3, 33, 41));
        Tensor x = random(rnd, dt, 2, 33, 32);
        check("causal", dt, AttentionCall.plain(x, x, x, 2).withCausal(true), random(rnd, dt, 2, 33, 32), null);
        check("causal with maps", dt, AttentionCall.plain(x, x, x, 2).withCausal(true).withCapture(0),
                random(rnd, dt, 2, 33, 32), random(rnd, DType.F32, 2, 33, 33));
        KvSegment weighted = KvSegment.of(random(rnd, dt, 3, 20, 32), random(rnd, dt, 3, 20, 32)).withWeight(0.7f).withLogitScale(1.5f);
        check("stratified over one segment", dt, new AttentionCall(q, 2, List.of(weighted), AttentionMode.STRATIFIED, Float.NaN, false, null, -1),
                random(rnd, dt, 3, 33, 32), null);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void stratifiedSegmentsWithWeightsAndAbsentItems(DType dt) {
        Tensor q = random(rnd, dt, 2, 21, 32);
        KvSegment a = KvSegment.of(random(rnd, dt, 2, 21, 32), random(rnd, dt, 2, 21, 32));
        KvSegment b = KvSegment.of(random(rnd, dt, 1, 9, 32), random(rnd, dt, 1, 9, 32)).withItemMap(new int[]{-1, 0}).withWeight(0.4f)
                .withLogitScale(1.3f).withLogitBias(0.2f);
        KvSegment c = KvSegment.of(random(rnd, dt, 2, 5, 32), random(rnd, dt, 2, 5, 32)).withItemMap(new int[]{1, 0}).withWeight(0.25f);
        for (int cap : new int[]{-1, 1, 2}) {
            AttentionCall call = new AttentionCall(q, 2, List.of(a, b, c), AttentionMode.STRATIFIED, Float.NaN, false, null, cap);
            Tensor dMaps = cap < 0 ? null : random(rnd, DType.F32, 2, 21, call.segments().get(cap).k().dim(1));
            check("stratified capture " + cap, dt, call, random(rnd, dt, 2, 21, 32), dMaps);
        }
        KvSegment zero = KvSegment.of(random(rnd, dt, 2, 7, 32), random(rnd, dt, 2, 7, 32)).withWeight(0f);
        check("stratified, zero-weight captured segment, maps only", dt,
                new AttentionCall(q, 2, List.of(a, zero), AttentionMode.STRATIFIED, Float.NaN, false, null, 1), null, random(rnd, DType.F32, 2, 21, 7));
    }

    @Test
    void rejectsMisShapedGradients() {
        CudaBackend cuda = backendOrSkip();
        try (Scope s = Scope.open()) {
            Tensor q = cuda.copyFrom(random(rnd, DType.F32, 1, 4, 8));
            AttentionCall call = AttentionCall.plain(q, q, q, 2);
            Tensor bad = cuda.copyFrom(random(rnd, DType.F32, 1, 5, 8));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cuda.attentionBackward(call, bad, null));
            assertTrue(e.getMessage().contains("dOut"), e.getMessage());
            Tensor maps = cuda.copyFrom(random(rnd, DType.F32, 1, 4, 4));
            e = assertThrows(IllegalArgumentException.class, () -> cuda.attentionBackward(call, null, maps));
            assertTrue(e.getMessage().contains("captures no segment"), e.getMessage());
        }
    }

    private void check(String what, DType dt, AttentionCall call, Tensor dOut, Tensor dMaps) {
        CudaBackend cuda = backendOrSkip();
        double tol = dt == DType.F32 ? 1e-4 : 1e-2;
        try (Scope s = Scope.open()) {
            AttentionGrads want = Backends.cpu().attentionBackward(call, dOut, dMaps);
            AttentionCall dev = onDevice(cuda, call);
            poison(cuda, DType.F32, call.q().shape());
            AttentionGrads got = cuda.attentionBackward(dev, dOut == null ? null : cuda.copyFrom(dOut), dMaps == null ? null : cuda.copyFrom(dMaps));
            compare(cuda, what + " " + dt + " dq", tol, want.dq(), got.dq());
            for (int j = 0; j < call.segments().size(); j++) {
                compare(cuda, what + " " + dt + " dk[" + j + "]", tol, want.dk().get(j), got.dk().get(j));
                compare(cuda, what + " " + dt + " dv[" + j + "]", tol, want.dv().get(j), got.dv().get(j));
            }
        }
    }

    private static AttentionCall onDevice(CudaBackend cuda, AttentionCall call) {
        List<KvSegment> segs = new ArrayList<>();
        for (KvSegment s : call.segments())
            segs.add(new KvSegment(cuda.copyFrom(s.k()), cuda.copyFrom(s.v()), s.itemMap(), s.logitScale(), s.logitBias(), s.weight()));
        return new AttentionCall(cuda.copyFrom(call.q()), call.heads(), segs, call.mode(), call.scale(), call.causal(), call.adain(), call.captureSegment());
    }

    private void compare(CudaBackend cuda, String what, double tol, Tensor want, Tensor got) {
        assertEquals(cuda.device(), got.device(), what + " lives on the GPU");
        assertEquals(want.dtype(), got.dtype(), what + " dtype");
        assertEquals(java.util.Arrays.toString(want.shape()), java.util.Arrays.toString(got.shape()), what + " shape");
        double err = relL2(want.toFloatArray(), cuda.toCpu(got).toFloatArray());
        assertTrue(err <= tol, what + ": relative L2 error " + err + " exceeds " + tol + " (seed " + seed + ")");
    }
}
