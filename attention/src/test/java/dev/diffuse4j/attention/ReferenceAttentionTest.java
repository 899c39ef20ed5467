package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.Attention;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static dev.diffuse4j.attention.ProcessorFixtures.row;
import static org.junit.jupiter.api.Assertions.*;

/** The exact identities of DESIGN §6 for the reference-attention processors, and StyleAligned against a float64 reference. */
class ReferenceAttentionTest {
    static final LayerInfo SELF = new LayerInfo("up_blocks.1.attentions.0.transformer_blocks.0.attn1", LayerInfo.Kind.SELF,
            LayerInfo.Block.UP, 1, 0, 0, 1, 4, 5, 0, 0);
    static final int DIM = 32, HEADS = 4, TOKENS = 20, BATCH = 6; // guided: 3 rows per half, reference first

    long seed;
    Random r;
    Map<String, Tensor> weights = new HashMap<>();
    Attention attn;
    Tensor hidden;
    Scope scope;

    @BeforeEach
    void setUp() {
        seed = System.nanoTime();
        System.out.println("ReferenceAttentionTest seed " + seed);
        r = new Random(seed);
        attn = ProcessorFixtures.layer(r, DIM, HEADS, weights);
        hidden = ProcessorFixtures.random(r, BATCH, TOKENS, DIM);
        scope = Scope.open();
    }

    @AfterEach
    void tearDown() {
        scope.close();
        weights.values().forEach(Tensor::close);
        hidden.close();
    }

    Tensor run(ReferenceAttentionConfig c) {
        return new ReferenceAttention(c, BatchLayout.guidedWithReferenceFirst()).process(attn, hidden, null, SELF, StepContext.NONE);
    }

    @Test
    void referenceRowsStayPlainBitForBit() {
        Tensor plain = attn.plain(hidden, null);
        Tensor shared = run(ReferenceAttentionConfig.styleAligned().withScore(0.7f, (float) Math.log(2)));
        for (int ref : new int[]{0, 3}) assertArrayEquals(row(plain, ref), row(shared, ref), "seed " + seed + " row " + ref);
        assertFalse(java.util.Arrays.equals(row(plain, 1), row(shared, 1)), "targets do change");
    }

    @Test
    void conflictFreeGuidanceLeavesTheUncondHalfBitIdentical() {
        Tensor plain = attn.plain(hidden, null);
        for (ReferenceAttentionConfig c : new ReferenceAttentionConfig[]{ReferenceAttentionConfig.stratified(1, 1),
                ReferenceAttentionConfig.kvConcat(), ReferenceAttentionConfig.kvReplace()}) {
            Tensor out = run(c);
            for (int b = 0; b < 3; b++) assertArrayEquals(row(plain, b), row(out, b), c.mode() + " uncond row " + b + ", seed " + seed);
            assertFalse(java.util.Arrays.equals(row(plain, 4), row(out, 4)), c.mode() + " cond targets do change");
        }
    }

    @Test
    void stratifiedWithZeroReferenceWeightIsPlainAttention() {
        Tensor plain = attn.plain(hidden, null);
        Tensor out = run(ReferenceAttentionConfig.stratified(1, 0).withRecipients(Recipients.ALL_TARGETS));
        assertArrayEquals(plain.toFloatArray(), out.toFloatArray(), 2e-6f, "seed " + seed);
    }

    @Test
    void jointAttentionToAnIdenticalReferenceIsPlainAttention() {
        // every row the same: joint over [K; K] must equal plain attention
        try (Tensor one = hidden.slice(0, 0, 1); Tensor same = Ops.concat(0, one, one, one, one, one, one)) {
            Tensor plain = attn.plain(same, null);
            Tensor out = new ReferenceAttention(ReferenceAttentionConfig.kvConcat().withRecipients(Recipients.ALL_TARGETS),
                    BatchLayout.guidedWithReferenceFirst()).process(attn, same, null, SELF, StepContext.NONE);
            assertArrayEquals(plain.toFloatArray(), out.toFloatArray(), 2e-6f, "seed " + seed);
        }
    }

    @Test
    void styleAlignedMatchesAFloat64Reference() {
        ReferenceAttentionConfig c = ReferenceAttentionConfig.styleAligned().withScore(0.8f, 0.5f);
        float[] got = run(c).toFloatArray();
        double[][][] q = project(attn.toQ().weight()), k = project(attn.toK().weight()), v = project(attn.toV().weight());
        float[] wo = attn.toOut().weight().toFloatArray(), bo = attn.toOut().bias().toFloatArray();
        int d = DIM / HEADS;
        double scale = 1 / Math.sqrt(d);
        for (int b = 0; b < BATCH; b++) {
            int ref = b < 3 ? 0 : 3;
            boolean target = b != ref;
            double[][] qb = target ? adain(q[b], q[ref]) : q[b], kb = target ? adain(k[b], k[ref]) : k[b];
            double[][] merged = new double[TOKENS][DIM];
            for (int h = 0; h < HEADS; h++) {
                for (int i = 0; i < TOKENS; i++) {
                    int keys = target ? 2 * TOKENS : TOKENS;
                    double[] logit = new double[keys];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < keys; j++) {
                        boolean refKey = j >= TOKENS;
                        double[] kk = refKey ? k[ref][j - TOKENS] : kb[j];
                        double dot = 0;
                        for (int e = 0; e < d; e++) dot += qb[i][h * d + e] * kk[h * d + e];
                        logit[j] = refKey ? 0.8 * scale * dot + 0.5 : scale * dot;
                        max = Math.max(max, logit[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < keys; j++) sum += logit[j] = Math.exp(logit[j] - max);
                    for (int j = 0; j < keys; j++) {
                        double[] vv = j >= TOKENS ? v[ref][j - TOKENS] : v[b][j];
                        for (int e = 0; e < d; e++) merged[i][h * d + e] += logit[j] / sum * vv[h * d + e];
                    }
                }
            }
            for (int i = 0; i < TOKENS; i++)
                for (int o = 0; o < DIM; o++) {
                    double y = bo[o];
                    for (int e = 0; e < DIM; e++) y += merged[i][e] * wo[o * DIM + e];
                    assertEquals(y, got[(b * TOKENS + i) * DIM + o], 2e-4, "seed " + seed + " b=" + b + " i=" + i + " o=" + o);
                }
        }
    }

    /** x W^T for every row, in double: [B][N][C]. */
    double[][][] project(Tensor w) {
        float[] wv = w.toFloatArray(), x = hidden.toFloatArray();
        double[][][] out = new double[BATCH][TOKENS][DIM];
        for (int b = 0; b < BATCH; b++)
            for (int i = 0; i < TOKENS; i++)
                for (int o = 0; o < DIM; o++) {
                    double s = 0;
                    for (int e = 0; e < DIM; e++) s += (double) x[(b * TOKENS + i) * DIM + e] * wv[o * DIM + e];
                    out[b][i][o] = s;
                }
        return out;
    }

    /** Per channel over tokens, unbiased variance + 1e-5: x normalised to the reference's statistics. */
    static double[][] adain(double[][] x, double[][] ref) {
        double[][] out = new double[x.length][x[0].length];
        for (int c = 0; c < x[0].length; c++) {
            double mx = 0, mr = 0;
            for (int i = 0; i < x.length; i++) { mx += x[i][c]; mr += ref[i][c]; }
            mx /= x.length;
            mr /= x.length;
            double vx = 0, vr = 0;
            for (int i = 0; i < x.length; i++) { vx += (x[i][c] - mx) * (x[i][c] - mx); vr += (ref[i][c] - mr) * (ref[i][c] - mr); }
            vx /= x.length - 1;
            vr /= x.length - 1;
            for (int i = 0; i < x.length; i++) out[i][c] = (x[i][c] - mx) / Math.sqrt(vx + 1e-5) * Math.sqrt(vr + 1e-5) + mr;
        }
        return out;
    }

    @Test
    void replaceModeRefusesAdaInOfKeysItCannotUse() {
        assertThrows(IllegalArgumentException.class, () -> new ReferenceAttention(ReferenceAttentionConfig.kvReplace().withAdaIn(true, true, false),
                BatchLayout.guidedWithReferenceFirst()));
        assertThrows(IllegalStateException.class, () -> new ReferenceAttention(ReferenceAttentionConfig.styleAligned(),
                BatchLayout.guidedWithReferenceFirst()).process(attn, hidden, hidden, SELF, StepContext.NONE));
    }
}
