package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AdaInSpec;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionMode;
import dev.diffuse4j.runtime.ops.KvSegment;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad calls fail with a message naming the op and the shapes involved. */
class AttentionErrorsTest {
    private final Tensor q = Tensor.zeros(2, 10, 64);
    private final Tensor k = Tensor.zeros(2, 7, 64);
    private final Tensor v = Tensor.zeros(2, 7, 64);

    private static void fails(AttentionCall call, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CpuBackend.INSTANCE.attention(call));
        assertTrue(e.getMessage().startsWith("attention: "), e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + e.getMessage() + "' should mention " + f);
    }

    private AttentionCall with(KvSegment... segments) {
        return new AttentionCall(q, 4, List.of(segments), AttentionMode.JOINT, Float.NaN, false, null, -1);
    }

    @Test
    void shapeMismatches() {
        fails(AttentionCall.plain(Tensor.zeros(10, 64), k, v, 4), "q", "F32[10, 64]");
        fails(AttentionCall.plain(q, k, v, 5), "F32[2, 10, 64]", "5 heads");
        fails(AttentionCall.plain(q, Tensor.zeros(2, 7, 32), Tensor.zeros(2, 7, 32), 4), "segment 0", "F32[2, 7, 32]", "F32[2, 10, 64]");
        fails(AttentionCall.plain(q, k, Tensor.zeros(2, 8, 64), 4), "segment 0", "F32[2, 8, 64]", "F32[2, 7, 64]");
        fails(AttentionCall.plain(q, Tensor.zeros(3, 7, 64), Tensor.zeros(3, 7, 64), 4), "F32[3, 7, 64]", "item map");
        fails(AttentionCall.plain(q, Tensor.zeros(2, 0, 64), Tensor.zeros(2, 0, 64), 4), "no tokens", "F32[2, 0, 64]");
        fails(AttentionCall.plain(q, Tensor.zeros(DType.I32, 2, 7, 64), v, 4), "I32[2, 7, 64]");
    }

    @Test
    void itemMaps() {
        fails(with(KvSegment.of(k, v).withItemMap(new int[]{0})), "item map has 1 entries", "F32[2, 10, 64]");
        fails(with(KvSegment.of(k, v).withItemMap(new int[]{0, 2})), "item 1", "row 2", "F32[2, 7, 64]");
        fails(with(KvSegment.of(k, v).withItemMap(new int[]{0, -1})), "item 1", "no present");
    }

    @Test
    void stratifiedWeightsMustNotCancel() {
        fails(with(KvSegment.of(k, v).withWeight(1f), KvSegment.of(k, v).withWeight(-1f)).withMode(AttentionMode.STRATIFIED), "weights", "item 0");
    }

    @Test
    void causalNeedsOneSquareSegment() {
        fails(AttentionCall.plain(q, k, v, 4).withCausal(true), "causal", "F32[2, 10, 64]", "F32[2, 7, 64]");
        Tensor kq = Tensor.zeros(2, 10, 64);
        fails(with(KvSegment.of(kq, kq), KvSegment.of(kq, kq)).withCausal(true), "causal", "2 segment");
    }

    @Test
    void adainAndCapture() {
        fails(AttentionCall.plain(q, k, v, 4).withAdaIn(AdaInSpec.queriesAndKeys(new int[]{0})), "AdaIN", "1 entries", "F32[2, 10, 64]");
        fails(AttentionCall.plain(q, k, v, 4).withAdaIn(AdaInSpec.queriesAndKeys(new int[]{0, 5})), "AdaIN", "refItem[1] = 5");
        fails(AttentionCall.plain(q, Tensor.zeros(2, 1, 64), Tensor.zeros(2, 1, 64), 4).withAdaIn(AdaInSpec.queriesAndKeys(new int[]{0, 0})),
                "AdaIN", "2 tokens", "F32[2, 1, 64]");
        fails(with(KvSegment.of(k, v).withItemMap(new int[]{-1, 0}), KvSegment.of(k, v)).withAdaIn(AdaInSpec.queriesAndKeys(new int[]{-1, 0})),
                "AdaIN reference item 0", "keys in segment 0");
        fails(AttentionCall.plain(q, k, v, 4).withCapture(1), "capture segment 1");
    }
}
