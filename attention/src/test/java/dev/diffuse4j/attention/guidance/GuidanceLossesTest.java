package dev.diffuse4j.attention.guidance;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

import static org.junit.jupiter.api.Assertions.*;

/** The guidance losses: known values, adjoint identities, invariances, and gradients vs central differences. */
class GuidanceLossesTest {
    static final int[] SUBJECTS = {2, 5};

    @Test
    void kernelIsTheAuthorsExpOfXOverTwoSigmaSquared() {
        double[] k = GaussianSmoothing.DEFAULT.kernel();
        double e = Math.exp(-1), z = 1 + 2 * e; // 1-D weights e^-1, 1, e^-1 before normalising
        double[] axis = {e / z, 1 / z, e / z};
        assertEquals(0.2119, axis[0], 1e-4);
        assertEquals(0.5761, axis[1], 1e-4);
        double sum = 0;
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) {
                assertEquals(axis[a] * axis[b], k[a * 3 + b], 1e-15);
                assertEquals(k[a * 3 + b], k[b * 3 + a], 0); // symmetric
                assertEquals(k[a * 3 + b], k[(2 - a) * 3 + (2 - b)], 0); // centro-symmetric
                sum += k[a * 3 + b];
            }
        assertEquals(1, sum, 1e-15);
    }

    @Test
    void smoothingKeepsConstantsAndItsAdjointIsTheTranspose() {
        int h = 5, w = 7;
        double[] ones = new double[h * w];
        java.util.Arrays.fill(ones, 3.0);
        for (double v : GaussianSmoothing.DEFAULT.apply(ones, h, w)) assertEquals(3.0, v, 1e-14);
        Random r = new Random(1);
        GaussianSmoothing g = new GaussianSmoothing(5, 0.8);
        for (int trial = 0; trial < 5; trial++) {
            double[] x = r.doubles(h * w).toArray(), y = r.doubles(h * w).toArray();
            assertEquals(dot(g.apply(x, h, w), y), dot(x, g.adjoint(y, h, w)), 1e-12);
        }
        // reflect padding: a corner pixel of a delta map sees its mirrored neighbour twice
        double[] delta = new double[h * w];
        delta[w + 1] = 1; // (1, 1)
        double[] s = GaussianSmoothing.DEFAULT.apply(delta, h, w);
        double[] k = GaussianSmoothing.DEFAULT.kernel();
        assertEquals(k[0] * 4, s[0], 1e-15); // (0,0) reads (1,1) through all four reflected corners
        assertThrows(IllegalArgumentException.class, () -> GaussianSmoothing.DEFAULT.apply(new double[3], 1, 3));
    }

    @Test
    void otsuSplitsABimodalHistogramAsBruteForceDoes() {
        int[] levels = new int[200];
        Random r = new Random(7);
        for (int i = 0; i < levels.length; i++) levels[i] = i < 120 ? 10 + r.nextInt(20) : 150 + r.nextInt(40);
        int t = Otsu.threshold(levels);
        assertEquals(bruteForceOtsu(levels), t);
        assertTrue(t >= 29 && t < 150, "threshold between the modes, got " + t);
        // two spikes: every level between them splits alike; the first maximum wins
        int[] spikes = new int[50];
        for (int i = 0; i < 50; i++) spikes[i] = i < 20 ? 20 : 200;
        assertEquals(20, Otsu.threshold(spikes));
        // the authors compare map >= t/255: the top level of the low class is foreground too (their quirk)
        double[] map = {20 / 255.0 + 1e-4, 200 / 255.0, 200 / 255.0, 20 / 255.0 + 1e-4, 5 / 255.0, 200 / 255.0};
        assertArrayEquals(new boolean[]{true, true, true, true, false, true}, Otsu.mask(map));
        assertThrows(IllegalArgumentException.class, () -> Otsu.levels(new double[]{Double.NaN}));
    }

    /** Minimises the within-class variance over every split (independent of the between-class form). */
    static int bruteForceOtsu(int[] levels) {
        int top = java.util.Arrays.stream(levels).max().orElseThrow();
        double best = Double.POSITIVE_INFINITY;
        int arg = 0;
        for (int t = 0; t < top; t++) {
            double w0 = 0, s0 = 0, ss0 = 0, w1 = 0, s1 = 0, ss1 = 0;
            for (int v : levels) {
                if (v <= t) { w0++; s0 += v; ss0 += (double) v * v; } else { w1++; s1 += v; ss1 += (double) v * v; }
            }
            if (w0 == 0 || w1 == 0) continue;
            double within = (ss0 - s0 * s0 / w0) + (ss1 - s1 * s1 / w1);
            if (within < best - 1e-9) { best = within; arg = t; }
        }
        return arg;
    }

    @Test
    void componentAtFloodsFourConnectedOnly() {
        boolean T = true, F = false;
        boolean[] mask = {T, T, F, F,
                          F, T, F, T,
                          F, F, T, T,
                          T, F, F, F};
        boolean[] c = Otsu.componentAt(mask, 4, 4, 0, 0);
        assertArrayEquals(new boolean[]{T, T, F, F, F, T, F, F, F, F, F, F, F, F, F, F}, c); // (2,2) touches only diagonally
        assertArrayEquals(new boolean[16], Otsu.componentAt(mask, 4, 4, 0, 2));
    }

    @Test
    void tokenSoftmaxDropsStartAndEndAndIgnoresPerPixelShifts() {
        GuidanceMaps m = GuidanceFixtures.maps(3, 6, 6, 12, SUBJECTS, 0.3);
        double[] p = TokenSoftmax.forward(m.cross(), 36, 12, 11, 100);
        for (int px = 0; px < 36; px++) {
            double s = 0;
            for (int j = 0; j < 10; j++) s += p[px * 10 + j];
            assertEquals(1, s, 1e-12);
        }
        double[] shifted = m.cross().clone();
        for (int px = 0; px < 36; px++) for (int t = 0; t < 12; t++) shifted[px * 12 + t] += 0.01 * px;
        shifted[0] += 5; // start token: dropped
        shifted[11] += 5; // last token: dropped
        assertArrayEquals(p, TokenSoftmax.forward(shifted, 36, 12, 11, 100), 1e-12);
    }

    @Test
    void attendExciteGradientMatchesCentralDifferences() {
        GuidanceMaps m = GuidanceFixtures.maps(11, 8, 8, 12, SUBJECTS, 0.08);
        Evaluation e = new AttendExciteObjective().evaluate(m, SUBJECTS);
        assertTrue(e.response() > 0 && e.response() < 1, "response loss " + e.response());
        checkCross(m, e.update().gradient(), x -> new AttendExciteObjective().evaluate(x, SUBJECTS).update().value());
        assertTrue(isZero(e.update().gradient().self()), "A&E does not read self-attention");
    }

    @Test
    void selfCrossObjectiveGradientsMatchCentralDifferences() {
        GuidanceMaps m = GuidanceFixtures.maps(5, 8, 8, 12, SUBJECTS, 3);
        SelfCrossObjective o = new SelfCrossObjective(4);
        o.evaluate(GuidanceFixtures.maps(6, 8, 8, 12, SUBJECTS, 3), SUBJECTS); // fills the EMA cache
        double[] before = o.cache();
        Evaluation e = o.evaluate(m, SUBJECTS);
        double[] probs = SubjectMaps.of(m, SUBJECTS).probs(), cache = o.cache();
        for (int i = 0; i < cache.length; i++) assertEquals(0.9 * before[i] + 0.1 * probs[i], cache[i], 1e-15, "EMA cache");
        assertTrue(e.response() < SelfCrossObjective.GATE, "fixture must un-gate the self-cross term: " + e.response());
        assertTrue(e.selfCross() > 0 && e.alignment() > 0, "all terms active: " + e);
        assertEquals(e.response() + 0.1 * e.clean() + e.selfCross(), e.update().value(), 1e-12);
        assertEquals(e.update().value() + 0.1 * e.alignment(), e.refine().value(), 1e-12);
        // the cache is a constant for the gradient (the authors detach it): probe against the updated cache
        Function<GuidanceMaps, Evaluation> probe = x -> SelfCrossObjective.evaluate(SubjectMaps.of(x, SUBJECTS), cache, 4);
        checkCross(m, e.update().gradient(), x -> probe.apply(x).update().value());
        checkSelf(m, e.update().gradient(), x -> probe.apply(x).update().value());
        checkCross(m, e.refine().gradient(), x -> probe.apply(x).refine().value());
    }

    @Test
    void initnoObjectiveGradientMatchesCentralDifferences() {
        GuidanceMaps m = GuidanceFixtures.maps(9, 8, 8, 12, new int[]{2, 5, 7}, 3);
        int[] subjects = {2, 5, 7};
        InitnoObjective o = new InitnoObjective(4);
        Evaluation e = o.evaluate(m, subjects);
        assertTrue(e.selfCross() > 0, "self-cross active: " + e);
        assertEquals(e.response() + e.clean() + e.selfCross(), e.update().value(), 1e-12);
        checkCross(m, e.update().gradient(), x -> o.evaluate(x, subjects).update().value());
        checkSelf(m, e.update().gradient(), x -> o.evaluate(x, subjects).update().value());
    }

    @Test
    void selfCrossLossOnTallGridsNormalisesTheCrossMapAndStillMatchesDifferences() {
        int[] subjects = {2, 4};
        GuidanceMaps m = GuidanceFixtures.maps(13, 18, 17, 6, subjects, 0.4);
        ToDoubleFunction<GuidanceMaps> loss = x -> { SubjectMaps s = SubjectMaps.of(x, subjects); return SelfCrossLoss.of(s, 1e-4, true).value(); };
        SubjectMaps s = SubjectMaps.of(m, subjects);
        MapGradient g = SelfCrossLoss.of(s, 1e-4, true).toMaps(s);
        Random r = new Random(2);
        for (int trial = 0; trial < 3; trial++) { // directional derivatives: the grid is too big for every coordinate
            double[] dc = r.doubles(m.cross().length, -1, 1).toArray(), ds = r.doubles(m.self().length, -1, 1).toArray();
            double h = 1e-7;
            double plus = loss.applyAsDouble(new GuidanceMaps(18, 17, 6, axpy(m.cross(), h, dc), axpy(m.self(), h, ds)));
            double minus = loss.applyAsDouble(new GuidanceMaps(18, 17, 6, axpy(m.cross(), -h, dc), axpy(m.self(), -h, ds)));
            double fd = (plus - minus) / (2 * h), an = dot(g.cross(), dc) + dot(g.self(), ds);
            assertEquals(fd, an, 1e-5 * Math.max(1, Math.abs(fd)), "directional derivative " + trial);
        }
    }

    @Test
    void selfCrossLossInvariances() {
        GuidanceMaps m = GuidanceFixtures.maps(21, 8, 8, 12, SUBJECTS, 0.4);
        SubjectMaps s = SubjectMaps.of(m, SUBJECTS);
        double l = SelfCrossLoss.of(s, 0, true).value();
        // mean over ordered pairs: the order of the subjects does not matter
        assertEquals(l, SelfCrossLoss.of(SubjectMaps.of(m, new int[]{5, 2}), 0, true).value(), 1e-12);
        // the aggregated self map is normalised: scaling the self map changes nothing (eps = 0)
        double[] scaled = m.self().clone();
        for (int i = 0; i < scaled.length; i++) scaled[i] *= 3.5;
        assertEquals(l, SelfCrossLoss.of(SubjectMaps.of(GuidanceFixtures.withSelf(m, scaled), SUBJECTS), 0, true).value(), 1e-12);
        // one subject has no pair
        assertEquals(0, SelfCrossLoss.of(SubjectMaps.of(m, new int[]{2}), 1e-4, true).value());
        // L_ij <= sum C_i and <= 1
        assertTrue(l > 0 && l <= 1);
    }

    @Test
    void gateZeroesTheSelfCrossTermWhileSubjectsAreWeak() {
        GuidanceMaps weak = GuidanceFixtures.maps(4, 8, 8, 12, SUBJECTS, 0.0);
        Evaluation e = new SelfCrossObjective(4).evaluate(weak, SUBJECTS);
        assertTrue(e.response() > SelfCrossObjective.GATE);
        assertEquals(0, e.selfCross());
        assertTrue(isZero(e.update().gradient().self()));
    }

    @Test
    void badSubjectsAreRejectedByIndex() {
        GuidanceMaps m = GuidanceFixtures.maps(4, 8, 8, 12, SUBJECTS, 0.2);
        var ex = assertThrows(IllegalArgumentException.class, () -> new AttendExciteObjective().evaluate(m, new int[]{11}));
        assertTrue(ex.getMessage().contains("11"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new AttendExciteObjective().evaluate(m, new int[]{0}));
        assertThrows(IllegalArgumentException.class, () -> new AttendExciteObjective().evaluate(m, new int[0]));
    }

    // ---- helpers

    static void checkCross(GuidanceMaps m, MapGradient g, ToDoubleFunction<GuidanceMaps> f) {
        double h = 1e-6;
        int checked = 0;
        for (int i = 0; i < m.cross().length; i++) {
            double[] plus = m.cross().clone(), minus = m.cross().clone();
            plus[i] += h;
            minus[i] -= h;
            double fd = (f.applyAsDouble(GuidanceFixtures.withCross(m, plus)) - f.applyAsDouble(GuidanceFixtures.withCross(m, minus))) / (2 * h);
            assertEquals(fd, g.cross()[i], 1e-5 * Math.max(1, Math.abs(fd)), "dL/dcross[" + i + "]");
            if (fd != 0) checked++;
        }
        assertTrue(checked > 0, "some cross gradient is non-zero");
    }

    static void checkSelf(GuidanceMaps m, MapGradient g, ToDoubleFunction<GuidanceMaps> f) {
        double h = 1e-6;
        int checked = 0;
        for (int i = 0; i < m.self().length; i += 3) {
            double[] plus = m.self().clone(), minus = m.self().clone();
            plus[i] += h;
            minus[i] -= h;
            double fd = (f.applyAsDouble(GuidanceFixtures.withSelf(m, plus)) - f.applyAsDouble(GuidanceFixtures.withSelf(m, minus))) / (2 * h);
            assertEquals(fd, g.self()[i], 1e-5 * Math.max(1, Math.abs(fd)), "dL/dself[" + i + "]");
            if (fd != 0) checked++;
        }
        assertTrue(checked > 0, "some self gradient is non-zero");
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    static double[] axpy(double[] x, double a, double[] d) {
        double[] out = x.clone();
        for (int i = 0; i < out.length; i++) out[i] += a * d[i];
        return out;
    }

    static boolean isZero(double[] v) {
        for (double x : v) if (x != 0) return false;
        return true;
    }
}
