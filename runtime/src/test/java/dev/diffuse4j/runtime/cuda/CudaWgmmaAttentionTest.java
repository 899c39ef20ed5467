package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AdaInSpec;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionMode;
import dev.diffuse4j.runtime.ops.Backend;
import dev.diffuse4j.runtime.ops.KvSegment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.function.Function;

import static dev.diffuse4j.runtime.cuda.CudaTestSupport.random;
import static dev.diffuse4j.runtime.cuda.CudaTestSupport.tolerance;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The Hopper flash attention (attention_sm90.cu, {@link CudaWgmmaAttention}) against the CPU
 * backend through the opt-in dispatch: SDXL's head dim 64 with ragged query and key counts,
 * cross-attention over 77 tokens, StyleAligned's joint call (own keys AdaIN'd toward a shared
 * reference, whose keys every item also reads), per-segment logit scale and bias, causal masking,
 * stratified segments with an absent one, and the attention maps computed from its log-sum-exp;
 * calls it does not take (other head dims, F32) must stay on the mma.sync / SIMT kernels. Runs on
 * {@link HopperTestSupport#backendOrSkip()}: an sm_90 GPU or the host emulator opened as sm_90.
 */
class CudaWgmmaAttentionTest {
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);
    private CudaBackend cuda;

    @BeforeEach
    void open() {
        cuda = HopperTestSupport.backendOrSkip();
        cuda.useWgmmaGemm(true);
    }

    @AfterEach
    void close() {
        if (cuda != null) cuda.useWgmmaGemm(false);
    }

    private void parity(String what, DType dt, boolean viaWgmma, Function<Tensor[], AttentionCall> call, Tensor... in) {
        BiFunction<Backend, Tensor[], Tensor> op = (b, x) -> b.attention(call.apply(x)).out();
        HopperTestSupport.parity(cuda, what + " (seed " + seed + ")", dt, viaWgmma, op, in);
    }

    private Tensor[] qkv(DType dt, int B, int nq, int nk, int hd) {
        return new Tensor[]{random(rnd, dt, B, nq, hd), random(rnd, dt, B, nk, hd), random(rnd, dt, B, nk, hd)};
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void plainSelfAndCrossAttention(DType dt) {
        parity("self, 2 heads of 64, 3 key tiles", dt, true, x -> AttentionCall.plain(x[0], x[1], x[2], 2), qkv(dt, 2, 300, 300, 128));
        parity("cross, 77 keys", dt, true, x -> AttentionCall.plain(x[0], x[1], x[2], 3), qkv(dt, 2, 130, 77, 192));
        parity("causal", dt, true, x -> AttentionCall.plain(x[0], x[1], x[2], 1).withCausal(true), qkv(dt, 1, 200, 200, 64));
        parity("scale", dt, true, x -> AttentionCall.plain(x[0], x[1], x[2], 2).withScale(0.2f), qkv(dt, 2, 70, 50, 128));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void styleAlignedJointCallWithAdaIn(DType dt) {
        int B = 3, n = 140, H = 2, HD = 128;
        // Item 0 is the reference: every item reads its own keys (AdaIN'd toward item 0's) and item 0's, scaled up.
        Function<Tensor[], AttentionCall> call = x -> new AttentionCall(x[0], H, List.of(
                KvSegment.of(x[1], x[2]),
                KvSegment.of(x[1], x[2]).withItemMap(new int[]{-1, 0, 0}).withLogitScale(1.2f).withLogitBias(-0.3f)),
                AttentionMode.JOINT, Float.NaN, false, AdaInSpec.queriesAndKeys(new int[]{-1, 0, 0}), -1);
        parity("joint own + shared reference, AdaIN on Q and K", dt, true, call,
                random(rnd, dt, 1f, 2f, B, n, HD), random(rnd, dt, -1f, 2f, B, n, HD), random(rnd, dt, B, n, HD));
        Function<Tensor[], AttentionCall> capture = x -> call.apply(x).withCapture(1);
        HopperTestSupport.parity(cuda, "maps of the shared segment (seed " + seed + ")", DType.F32, tolerance(dt), true,
                (b, x) -> b.attention(capture.apply(x)).maps(), random(rnd, dt, B, n, HD), random(rnd, dt, B, n, HD), random(rnd, dt, B, n, HD));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void stratifiedSegments(DType dt) {
        int B = 3, H = 1, HD = 64;
        Function<Tensor[], AttentionCall> strat = x -> new AttentionCall(x[0], H, List.of(
                KvSegment.of(x[1], x[2]).withWeight(0.6f),
                KvSegment.of(x[3], x[4]).withItemMap(new int[]{0, -1, 1}).withWeight(0.4f)),
                AttentionMode.STRATIFIED, Float.NaN, false, AdaInSpec.queriesAndKeys(new int[]{-1, 0, 0}), -1);
        parity("stratified, AdaIN, one item without the second segment", dt, true, strat,
                random(rnd, dt, B, 150, HD), random(rnd, dt, B, 150, HD), random(rnd, dt, B, 150, HD),
                random(rnd, dt, 2, 90, HD), random(rnd, dt, 2, 90, HD));
    }

    @Test
    void callsItDoesNotTakeKeepTheOtherKernels() {
        parity("head dim 80", DType.F16, false, x -> AttentionCall.plain(x[0], x[1], x[2], 2), qkv(DType.F16, 2, 100, 77, 160));
        parity("F32", DType.F32, false, x -> AttentionCall.plain(x[0], x[1], x[2], 2), qkv(DType.F32, 2, 50, 40, 128));
        CudaWgmmaAttention hopper = new CudaWgmmaAttention(cuda);
        try (Tensor q = cuda.copyFrom(random(rnd, DType.F16, 2, 10, 128)); Tensor k = cuda.copyFrom(random(rnd, DType.F16, 2, 10, 128))) {
            assertNull(hopper.refusal(DType.F16, 64, q, new Tensor[]{k}, new Tensor[]{k}));
            assertEquals("head dim 40 (the kernel is for 64)", hopper.refusal(DType.F16, 40, q, new Tensor[]{k}, new Tensor[]{k}));
            try (Tensor odd = cuda.copyFrom(random(rnd, DType.F16, 2, 10, 132)); Tensor view = odd.slice(2, 0, 128)) {
                String why = hopper.refusal(DType.F16, 64, q, new Tensor[]{k}, new Tensor[]{view});
                assertNotNull(why);
                assertTrue(why.startsWith("segment 0: row stride 132"), why);
            }
        }
    }
}
