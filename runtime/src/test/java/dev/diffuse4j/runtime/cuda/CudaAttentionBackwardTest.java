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

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.diffuse4j.runtime.cuda.CudaTestSupport.backendOrSkip;
import static dev.diffuse4j.runtime.cuda.CudaTestSupport.random;
import static dev.diffuse4j.runtime.cuda.CudaTestSupport.relL2;
import static dev.diffuse4j.runtime.cuda.CudaTestSupport.tolerance;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CUDA attention backward of AdaIN calls (still the host round trip, see CudaAttentionGrad) against the CPU backward on the same inputs; skipped without a GPU. */
class CudaAttentionBackwardTest {
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);

    @Test
    void matchesTheCpuBackwardForEveryFeature() {
        CudaBackend cuda = backendOrSkip();
        for (DType dt : List.of(DType.F32, DType.F16)) {
            try (Scope s = Scope.open()) {
                Tensor q = random(rnd, dt, 3, 70, 64);
                KvSegment own = KvSegment.of(random(rnd, dt, 3, 70, 64), random(rnd, dt, 3, 70, 64));
                KvSegment ref = KvSegment.of(random(rnd, dt, 1, 77, 64), random(rnd, dt, 1, 77, 64))
                        .withItemMap(new int[]{0, -1, 0}).withLogitScale(1.2f).withLogitBias(0.1f).withWeight(0.5f);
                for (AttentionMode mode : AttentionMode.values()) {
                    AttentionCall call = new AttentionCall(q, 2, List.of(own, ref), mode, Float.NaN, false,
                            AdaInSpec.queriesAndKeys(new int[]{-1, 0, 0}), 1);
                    Tensor dOut = random(rnd, dt, 3, 70, 64), dMaps = random(rnd, DType.F32, 3, 70, 77);
                    AttentionGrads want = Backends.cpu().attentionBackward(call, dOut, dMaps);
                    AttentionGrads got = cuda.attentionBackward(onDevice(cuda, call), cuda.copyFrom(dOut), cuda.copyFrom(dMaps));
                    compare(cuda, mode + " " + dt + " dq", want.dq(), got.dq());
                    for (int j = 0; j < 2; j++) {
                        compare(cuda, mode + " " + dt + " dk[" + j + "]", want.dk().get(j), got.dk().get(j));
                        compare(cuda, mode + " " + dt + " dv[" + j + "]", want.dv().get(j), got.dv().get(j));
                    }
                }
            }
        }
    }

    private static AttentionCall onDevice(CudaBackend cuda, AttentionCall call) {
        List<KvSegment> segs = new ArrayList<>();
        for (KvSegment s : call.segments())
            segs.add(new KvSegment(cuda.copyFrom(s.k()), cuda.copyFrom(s.v()), s.itemMap(), s.logitScale(), s.logitBias(), s.weight()));
        return new AttentionCall(cuda.copyFrom(call.q()), call.heads(), segs, call.mode(), call.scale(), call.causal(), call.adain(), call.captureSegment());
    }

    private void compare(CudaBackend cuda, String what, Tensor want, Tensor got) {
        assertEquals(cuda.device(), got.device(), what + " lives on the GPU");
        assertEquals(want.dtype(), got.dtype(), what + " dtype");
        double err = relL2(want.toFloatArray(), cuda.toCpu(got).toFloatArray());
        assertTrue(err <= tolerance(want.dtype()), what + ": relative L2 error " + err + " (seed " + seed + ")");
    }
}
