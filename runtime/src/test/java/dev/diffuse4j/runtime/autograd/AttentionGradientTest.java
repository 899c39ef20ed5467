package dev.diffuse4j.runtime.autograd;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionResult;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static dev.diffuse4j.runtime.autograd.GradCheck.check;

/**
 * The attention node through the tape: both outputs (the attention output and the captured maps) are
 * differentiable, with respect to queries, keys and values, against a float64 reference.
 */
class AttentionGradientTest {
    private final Random rnd = new Random(11);

    /** Output and maps flattened per item and concatenated, so one seed covers both node outputs. */
    private static Tensor outAndMaps(List<Tensor> t, int heads) {
        Tensor q = t.get(0);
        AttentionResult r = Ops.attention(AttentionCall.plain(q, t.get(1), t.get(2), heads).withCapture(0));
        int b = q.dim(0);
        return Ops.concat(1, r.out().reshape(b, -1), r.maps().reshape(b, -1));
    }

    @Test
    void outputAndCapturedMapsWrtQueriesKeysValues() {
        int heads = 2;
        check("attention", List.of(Nd.random(rnd, 2, 3, 4), Nd.random(rnd, 2, 5, 4), Nd.random(rnd, 2, 5, 4)),
                in -> RefOps.attentionOutAndMaps(in.get(0), in.get(1), in.get(2), heads), t -> outAndMaps(t, heads));
    }

    @Test
    void broadcastKeysAndValuesSumOverTheItemsThatReadThem() {
        int heads = 1;
        check("attention broadcast kv", List.of(Nd.random(rnd, 3, 2, 4), Nd.random(rnd, 1, 4, 4), Nd.random(rnd, 1, 4, 4)),
                in -> RefOps.attentionOutAndMaps(in.get(0), in.get(1), in.get(2), heads), t -> outAndMaps(t, heads));
    }

    @Test
    void onlyTheMapsSeeded() {
        int heads = 2;
        check("attention maps only (queries watched, keys constant)", List.of(Nd.random(rnd, 1, 3, 4), Nd.random(rnd, 1, 6, 4), Nd.random(rnd, 1, 6, 4)),
                new boolean[]{true, false, false},
                in -> {
                    Nd all = RefOps.attentionOutAndMaps(in.get(0), in.get(1), in.get(2), heads);
                    double[] maps = java.util.Arrays.copyOfRange(all.v(), 3 * 4, all.v().length);
                    return new Nd(new int[]{1, 3, 6}, maps);
                },
                t -> {
                    AttentionResult r = Ops.attention(AttentionCall.plain(t.get(0), t.get(1), t.get(2), heads).withCapture(0));
                    Tensor maps = r.maps();
                    return maps;
                }, 2e-3);
    }
}
