package dev.diffuse4j.schedulers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Timestep tables against closed forms in exact integer arithmetic. */
class TimestepTablesTest {
    private static final int T = 1000;

    /** round-half-even(num / den) for non-negative integers, exactly. */
    private static long roundDiv(long num, long den) {
        long q = num / den, r = num % den;
        if (2 * r > den || (2 * r == den && (q & 1) == 1)) q++;
        return q;
    }

    /**
     * Where num / den is exactly half-way, numpy's float64 grid lands an ulp to either side, so either
     * neighbour is numpy's answer; elsewhere the rounding is exact.
     */
    private static void assertRounded(long num, long den, long offset, int actual, String what) {
        if (2 * (num % den) == den) {
            long lo = num / den + offset;
            if (actual != lo && actual != lo + 1) throw new AssertionError(what + ": " + actual + " is neither neighbour of the tie " + lo + ".5");
        } else {
            assertEquals(roundDiv(num, den) + offset, actual, what);
        }
    }

    @Test
    void ddimLeadingFiftySteps() {
        int[] t = TimestepTables.ddim(TimestepSpacing.LEADING, 50, T, 1);
        for (int i = 0; i < 50; i++) assertEquals(981 - 20 * i, t[i]);
        assertEquals(1, t[49]);
    }

    @Test
    void ddimLeadingMatchesClosedFormForEveryStepCount() {
        for (int n = 1; n <= T; n++) {
            int offset = n <= T / 2 ? 1 : 0; // beyond T/2 steps the ratio is 1 and offset 1 would reach t = T
            int[] t = TimestepTables.ddim(TimestepSpacing.LEADING, n, T, offset);
            for (int i = 0; i < n; i++) assertEquals((n - 1 - i) * (T / n) + offset, t[i], "n=" + n + " i=" + i);
        }
    }

    @Test
    void ddimTrailingFiftySteps() {
        int[] t = TimestepTables.ddim(TimestepSpacing.TRAILING, 50, T, 1);
        for (int i = 0; i < 50; i++) assertEquals(999 - 20 * i, t[i]); // steps_offset does not apply
    }

    @Test
    void trailingMatchesExactRoundingForEveryStepCount() {
        // round(T - i T / n) - 1
        for (int n = 1; n <= T; n++) {
            int[] t = TimestepTables.ddim(TimestepSpacing.TRAILING, n, T, 0);
            assertEquals(n, t.length);
            for (int i = 0; i < n; i++) assertRounded((long) T * (n - i), n, -1, t[i], "n=" + n + " i=" + i);
        }
        // numpy 2.4: np.round(np.arange(1000, 0, -1000/48))[3] - 1 == 936 (the float grid puts 937.5 just below)
        assertEquals(936, TimestepTables.ddim(TimestepSpacing.TRAILING, 48, T, 0)[3]);
    }

    @Test
    void ddimLinspaceMatchesExactRoundingForEveryStepCount() {
        for (int n = 2; n <= T; n++) {
            int[] t = TimestepTables.ddim(TimestepSpacing.LINSPACE, n, T, 1);
            for (int i = 0; i < n; i++) assertRounded(999L * (n - 1 - i), n - 1, 0, t[i], "n=" + n + " i=" + i);
        }
        // numpy 2.4: np.linspace(0, 999, 27).round()[13] == 499 (13 * (999/26) = 499.49999999999994)
        assertEquals(499, TimestepTables.ddim(TimestepSpacing.LINSPACE, 27, T, 0)[13]);
        assertArrayEquals(new int[]{999, 888, 777, 666, 555, 444, 333, 222, 111, 0}, TimestepTables.ddim(TimestepSpacing.LINSPACE, 10, T, 0));
    }

    @Test
    void inverseTablesAreTheSamplingTablesReversed() {
        assertArrayEquals(new int[]{1, 21, 41}, java.util.Arrays.copyOf(TimestepTables.ddimInverse(TimestepSpacing.LEADING, 50, T, 1), 3));
        for (TimestepSpacing s : new TimestepSpacing[]{TimestepSpacing.LEADING, TimestepSpacing.TRAILING})
            for (int n : new int[]{1, 7, 50, 61, 999}) {
                int[] fwd = TimestepTables.ddim(s, n, T, 1), inv = TimestepTables.ddimInverse(s, n, T, 1);
                for (int i = 0; i < n; i++) assertEquals(fwd[n - 1 - i], inv[i], s + " n=" + n);
            }
        assertThrows(IllegalArgumentException.class, () -> TimestepTables.ddimInverse(TimestepSpacing.LINSPACE, 10, T, 0));
    }

    @Test
    void eulerLinspaceIsFractional() {
        float[] t = TimestepTables.euler(TimestepSpacing.LINSPACE, 50, T, 1);
        for (int i = 0; i < 50; i++) assertEquals((float) (999.0 * (49 - i) / 49), t[i], "i=" + i);
        assertEquals(999f, t[0]);
        assertEquals(0f, t[49]);
    }

    @Test
    void eulerLeadingAndTrailingAreTheIntegerTables() {
        float[] lead = TimestepTables.euler(TimestepSpacing.LEADING, 30, T, 1);
        float[] trail = TimestepTables.euler(TimestepSpacing.TRAILING, 30, T, 1);
        for (int i = 0; i < 30; i++) {
            assertEquals((29 - i) * 33 + 1, lead[i]);
            assertRounded((long) T * (30 - i), 30, -1, (int) trail[i], "trailing i=" + i);
        }
    }

    @Test
    void dpmSolverUsesOneMoreGridPointAndDropsTheCleanEnd() {
        for (int n : new int[]{1, 10, 20, 25, 50, 498, 999}) {
            int offset = n < 499 ? 1 : 0;
            int[] lin = TimestepTables.dpmSolver(TimestepSpacing.LINSPACE, n, T, T, 1);
            int[] lead = TimestepTables.dpmSolver(TimestepSpacing.LEADING, n, T, T, offset);
            for (int i = 0; i < n; i++) {
                assertRounded(999L * (n - i), n, 0, lin[i], "linspace n=" + n);
                assertEquals((n - i) * (T / (n + 1)) + offset, lead[i], "leading n=" + n);
            }
        }
        assertArrayEquals(new int[]{999, 899, 799, 699, 599, 500, 400, 300, 200, 100}, TimestepTables.dpmSolver(TimestepSpacing.LINSPACE, 10, T, T, 0));
    }

    @Test
    void numpyArangeOvershootIsTrimmed() {
        // arange(1000, 0, -1000/61) has 62 entries in float64; diffusers would add a step at t = -1.
        assertEquals(62, Numpy.arange(1000, 0, -1000.0 / 61).length);
        int[] t = TimestepTables.ddim(TimestepSpacing.TRAILING, 61, T, 0);
        assertEquals(61, t.length);
        assertEquals(15, t[60]); // round(1000 - 60 * 1000/61) - 1 = round(16.39) - 1
    }

    @Test
    void rejectsBadStepCounts() {
        assertThrows(IllegalArgumentException.class, () -> TimestepTables.ddim(TimestepSpacing.LEADING, 0, T, 0));
        assertThrows(IllegalArgumentException.class, () -> TimestepTables.ddim(TimestepSpacing.LEADING, T + 1, T, 0));
        IllegalArgumentException past = assertThrows(IllegalArgumentException.class, () -> TimestepTables.ddim(TimestepSpacing.LEADING, T, T, 1));
        assertTrue(past.getMessage().contains("1000"), past.getMessage());
    }
}
