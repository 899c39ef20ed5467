package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.Attention;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The pieces of Conditional Balance's layer analysis: moments, Gaussian JSD, style score, trimmed mean. */
class StyleAnalysisTest {
    static final double TOL = 1e-12;

    @Test
    void jsdMatchesClosedForms() {
        float[] m = {0.5f, -1f}, s = {1f, 2f};
        assertEquals(0, GaussianJsd.of(m, s, m, s), TOL, "identical Gaussians");
        // N(0,1) vs N(2,1): M = N(1, 1), KL(P1||M) = (0 + 1)/2 = 0.5 each
        assertEquals(0.5, GaussianJsd.of(new float[]{0}, new float[]{1}, new float[]{2}, new float[]{1}), TOL);
        // N(0,1) vs N(0,3): M = N(0, 5); KL(N(0,a^2)||N(0,5)) = 0.5 (a^2/5 - 1 + ln(5/a^2))
        double kl1 = 0.5 * (1 / 5.0 - 1 + Math.log(5)), kl2 = 0.5 * (9 / 5.0 - 1 + Math.log(5 / 9.0));
        assertEquals(0.5 * (kl1 + kl2), GaussianJsd.of(new float[]{0}, new float[]{1}, new float[]{0}, new float[]{3}), TOL);
        // dimensions add up, and it is symmetric
        float[] m2 = {2.5f, 0f}, s2 = {0.5f, 1.5f};
        double sum = GaussianJsd.of(new float[]{m[0]}, new float[]{s[0]}, new float[]{m2[0]}, new float[]{s2[0]})
                + GaussianJsd.of(new float[]{m[1]}, new float[]{s[1]}, new float[]{m2[1]}, new float[]{s2[1]});
        assertEquals(sum, GaussianJsd.of(m, s, m2, s2), TOL);
        assertEquals(GaussianJsd.of(m, s, m2, s2), GaussianJsd.of(m2, s2, m, s), TOL);
        assertThrows(IllegalArgumentException.class, () -> GaussianJsd.of(m, s, new float[1], new float[1]));
    }

    /** images[style * samples + sample]: 1-D Gaussians whose means are the given values, std 1. */
    static float[][][] images(double[] means) {
        float[][] m = new float[means.length][], s = new float[means.length][];
        for (int i = 0; i < means.length; i++) {
            m[i] = new float[]{(float) means[i]};
            s[i] = new float[]{1};
        }
        return new float[][][]{m, s};
    }

    @Test
    void scoreIsMeanSameStyleOverMeanDifferentStyleJsd() {
        // 3 styles x 2 samples; JSD of N(a,1), N(b,1) is (a-b)^2/4
        double[] x = {0, 1, 10, 12, 30, 33};
        float[][][] im = images(x);
        double same = ((1 * 1) + (2 * 2) + (3 * 3)) / 4.0 / 3;
        double diff = 0;
        for (int i = 0; i < 6; i++) for (int j = i + 1; j < 6; j++) if (i / 2 != j / 2) diff += (x[i] - x[j]) * (x[i] - x[j]) / 4;
        diff /= 3 * 4;
        assertEquals(same / diff, StyleSensitivity.score(im[0], im[1], 3, 2, false), 1e-12);
        float[][][] flat = images(new double[]{1, 1, 1, 1, 1, 1});
        assertEquals(1, StyleSensitivity.score(flat[0], flat[1], 3, 2, false), "no differences at all: 1, as the authors' code");
    }

    @Test
    void thePublishedWindowReproducesTheAuthorsLoop() {
        // 3 styles x 3 samples: windows start at 0, 2, 4 (not 0, 3, 6); sums are over pairs (i in window, j > i)
        double[] x = {0, 1, 2, 10, 11, 12, 20, 21, 22};
        float[][][] im = images(x);
        double same = 0, diff = 0;
        for (int st = 0; st < 3; st++) {
            int lo = st * 2, hi = lo + 3;
            for (int i = lo; i < hi; i++)
                for (int j = i + 1; j < 9; j++) {
                    double d = (x[i] - x[j]) * (x[i] - x[j]) / 4;
                    if (j < hi) same += d;
                    else diff += d;
                }
        }
        double expected = (same / (3 * 3)) / (diff / (3 * 9));
        assertEquals(expected, StyleSensitivity.score(im[0], im[1], 3, 3, true), 1e-12);
        assertNotEquals(expected, StyleSensitivity.score(im[0], im[1], 3, 3, false), 1e-6);
        assertThrows(IllegalArgumentException.class, () -> StyleSensitivity.score(im[0], im[1], 3, 2, false), "9 images are not 3 x 2");
    }

    @Test
    void aLayerWhoseFeaturesClusterByStyleRanksFirst() {
        // 4 layers, 3 styles x 3 samples, 8 channels: layer 2 carries style in its means, the others are noise
        Random r = new Random(5);
        int styles = 3, samples = 3, n = styles * samples, ch = 8;
        double[] scores = new double[4];
        for (int layer = 0; layer < 4; layer++) {
            float[][] m = new float[n][ch], s = new float[n][ch];
            for (int i = 0; i < n; i++)
                for (int c = 0; c < ch; c++) {
                    m[i][c] = (float) (r.nextGaussian() + (layer == 2 ? 4 * ((i / samples) - 1) * (c % 2 == 0 ? 1 : -1) : 0));
                    s[i][c] = (float) (1 + 0.2 * r.nextDouble());
                }
            scores[layer] = StyleSensitivity.score(m, s, styles, samples, false);
        }
        LayerRanking ranking = new LayerRanking(List.of("a", "b", "c", "d"), Map.of(1, new LayerRanking.Scores(scores, scores, null)));
        assertEquals("c", ranking.rankedByQueries(1).getFirst(), java.util.Arrays.toString(scores));
        assertTrue(scores[2] < 0.2, "style-clustered layer: " + scores[2]);
        for (int l : new int[]{0, 1, 3}) assertTrue(scores[l] > 0.5, "noise layer " + l + ": " + scores[l]);
    }

    @Test
    void trimmedMeanDropsTheExtremes() {
        assertEquals((2 + 3 + 4) / 3.0, StyleSensitivity.trimmedMean(new double[]{4, 100, 2, 3, -50}), TOL);
        assertEquals(2.5, StyleSensitivity.trimmedMean(new double[]{2, 3}), TOL, "below three values: plain mean");
        assertEquals(7, StyleSensitivity.trimmedMean(new double[]{7}), TOL);
        assertEquals(2, StyleSensitivity.trimmedMean(new double[]{1, 2, 9}), TOL);
    }

    @Test
    void channelMomentsMatchFloat64() {
        Random r = new Random(7);
        Tensor x = ProcessorFixtures.random(r, 3, 5, 4);
        float[] v = x.toFloatArray();
        ChannelMoments m = ChannelMoments.of(x, new int[]{2, 0});
        int[] rows = {2, 0};
        for (int i = 0; i < 2; i++)
            for (int c = 0; c < 4; c++) {
                double sum = 0, sq = 0;
                for (int t = 0; t < 5; t++) sum += v[rows[i] * 20 + t * 4 + c];
                double mean = sum / 5;
                for (int t = 0; t < 5; t++) sq += Math.pow(v[rows[i] * 20 + t * 4 + c] - mean, 2);
                assertEquals(mean, m.mean()[i * 4 + c], 1e-12);
                assertEquals(Math.sqrt(sq / 4 + 1e-5), m.std()[i * 4 + c], 1e-12);
            }
        // a strided view reads the same numbers
        Tensor t = x.transpose(0, 1).contiguous().transpose(0, 1);
        assertArrayEquals(m.mean(), ChannelMoments.of(t, new int[]{2, 0}).mean(), 1e-12);
    }

    @Test
    void statisticsAttentionIsStyleAlignedWithValueAdaInAndReportsTargetRows() {
        Random r = new Random(9);
        Map<String, Tensor> keep = new HashMap<>();
        int dim = 8, heads = 2, tokens = 6, batch = 4;
        Attention attn = ProcessorFixtures.layer(r, dim, heads, keep);
        Tensor hidden = ProcessorFixtures.random(r, batch, tokens, dim);
        LayerInfo layer = new LayerInfo("l.attn1", LayerInfo.Kind.SELF, LayerInfo.Block.UP, 0, 0, 0, 0, 2, 3, 0, 0);
        BatchLayout layout = BatchLayout.guidedWithReferenceFirst();
        List<ChannelMoments[]> seen = new ArrayList<>();
        var stats = new StatisticsAttention(layout, (l, step, q, k, v) -> seen.add(new ChannelMoments[]{q, k, v}));
        Tensor out = stats.process(attn, hidden, null, layer, StepContext.of(0, 1, 981));
        Tensor expected = new ReferenceAttention(ReferenceAttentionConfig.styleAligned().withAdaIn(true, true, true), layout)
                .process(attn, hidden, null, layer, StepContext.of(0, 1, 981));
        assertArrayEquals(expected.toFloatArray(), out.toFloatArray(), 0f);
        assertEquals(1, seen.size());
        Tensor q = attn.query(hidden), k = attn.key(hidden), v = attn.value(hidden);
        int[] targets = {1, 3}; // [u_target, c_target]
        assertArrayEquals(ChannelMoments.of(q, targets).mean(), seen.getFirst()[0].mean(), 0);
        assertArrayEquals(ChannelMoments.of(k, targets).std(), seen.getFirst()[1].std(), 0);
        assertArrayEquals(ChannelMoments.of(v, targets).mean(), seen.getFirst()[2].mean(), 0);
        assertEquals(2 * dim, seen.getFirst()[0].mean().length);
        stats.process(attn, hidden, null, layer, StepContext.NONE);
        assertEquals(1, seen.size(), "passes outside the sampling loop are not recorded");
    }
}
