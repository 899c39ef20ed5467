package dev.diffuse4j.schedulers;

/**
 * Inference timestep tables, as each diffusers scheduler's {@code set_timesteps} builds them, for
 * {@code n} steps over {@code T} training timesteps. All tables run from noisy to clean except the
 * DDIM inversion table.
 *
 * <p>One deliberate difference: for "trailing" spacing numpy's {@code arange(T, 0, -T/n)} yields n + 1
 * entries for some n (61, 103, 121, ...) because {@code T / (T/n)} rounds above n; diffusers then runs an
 * extra step at timestep -1. These tables keep the first n entries, which are identical.
 */
final class TimestepTables {
    private TimestepTables() {}

    /** DDIMScheduler: integer timesteps, descending. */
    static int[] ddim(TimestepSpacing spacing, int n, int trainSteps, int stepsOffset) {
        checkSteps(n, trainSteps);
        return switch (spacing) {
            case LINSPACE -> roundedDescending(Numpy.linspace(0, trainSteps - 1, n), n);
            case LEADING -> {
                int ratio = trainSteps / n;
                int[] t = new int[n];
                for (int i = 0; i < n; i++) t[i] = (n - 1 - i) * ratio + stepsOffset;
                yield inRange(t, trainSteps, spacing, n, stepsOffset);
            }
            case TRAILING -> trailing(trainSteps, trainSteps, n);
        };
    }

    /** DDIMInverseScheduler: integer timesteps, ascending; "linspace" is not defined for it. */
    static int[] ddimInverse(TimestepSpacing spacing, int n, int trainSteps, int stepsOffset) {
        checkSteps(n, trainSteps);
        int[] t = switch (spacing) {
            case LEADING -> ddim(spacing, n, trainSteps, stepsOffset);
            case TRAILING -> trailing(trainSteps, trainSteps, n);
            case LINSPACE -> throw new IllegalArgumentException(
                    "DDIM inversion supports timestep_spacing leading or trailing, not linspace (as DDIMInverseScheduler)");
        };
        reverse(t);
        return t;
    }

    /** EulerDiscreteScheduler: float32 timesteps, descending ("linspace" ones are fractional). */
    static float[] euler(TimestepSpacing spacing, int n, int trainSteps, int stepsOffset) {
        checkSteps(n, trainSteps);
        float[] t = new float[n];
        switch (spacing) {
            case LINSPACE -> {
                double[] v = Numpy.linspace(0, trainSteps - 1, n);
                for (int i = 0; i < n; i++) t[i] = (float) v[n - 1 - i];
            }
            case LEADING -> {
                int[] d = ddim(spacing, n, trainSteps, stepsOffset);
                for (int i = 0; i < n; i++) t[i] = d[i];
            }
            case TRAILING -> {
                int[] d = trailing(trainSteps, trainSteps, n);
                for (int i = 0; i < n; i++) t[i] = d[i];
            }
        }
        return t;
    }

    /**
     * DPMSolverMultistepScheduler: integer timesteps, descending, over {@code [0, lastTimestep)} where
     * {@code lastTimestep} is T unless lambda_min_clipped removes the noisiest timesteps.
     * Note the {@code n + 1} in "linspace" and "leading": the grid has one more point and the clean end is dropped.
     */
    static int[] dpmSolver(TimestepSpacing spacing, int n, int trainSteps, int lastTimestep, int stepsOffset) {
        checkSteps(n, trainSteps);
        return switch (spacing) {
            case LINSPACE -> roundedDescending(Numpy.linspace(0, lastTimestep - 1, n + 1), n);
            case LEADING -> {
                int ratio = lastTimestep / (n + 1);
                int[] t = new int[n];
                for (int i = 0; i < n; i++) t[i] = (n - i) * ratio + stepsOffset;
                yield inRange(t, trainSteps, spacing, n, stepsOffset);
            }
            case TRAILING -> trailing(lastTimestep, trainSteps, n);
        };
    }

    /** {@code round(arange(from, 0, -T/n)) - 1}, first n entries. */
    private static int[] trailing(int from, int trainSteps, int n) {
        double[] a = Numpy.arange(from, 0, -(double) trainSteps / n);
        if (a.length < n)
            throw new IllegalArgumentException("trailing spacing: only " + a.length + " timesteps below " + from + " for " + n + " steps");
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = (int) Numpy.round(a[i]) - 1;
        return t;
    }

    /** The grid reversed, rounded half-to-even, keeping the first {@code keep} (the noisy end). */
    private static int[] roundedDescending(double[] grid, int keep) {
        int[] t = new int[keep];
        for (int i = 0; i < keep; i++) t[i] = (int) Numpy.round(grid[grid.length - 1 - i]);
        return t;
    }

    /** "leading" plus steps_offset can step past the last training timestep (e.g. 1000 steps with offset 1). */
    private static int[] inRange(int[] t, int trainSteps, TimestepSpacing spacing, int n, int stepsOffset) {
        for (int v : t)
            if (v < 0 || v >= trainSteps)
                throw new IllegalArgumentException(spacing.key() + " spacing with " + n + " steps and steps_offset " + stepsOffset
                        + " reaches timestep " + v + ", outside the training range [0, " + trainSteps + "); use fewer steps or another spacing");
        return t;
    }

    private static void reverse(int[] t) {
        for (int i = 0, j = t.length - 1; i < j; i++, j--) {
            int x = t[i];
            t[i] = t[j];
            t[j] = x;
        }
    }

    private static void checkSteps(int n, int trainSteps) {
        if (n < 1) throw new IllegalArgumentException("number of inference steps must be >= 1, got " + n);
        if (n > trainSteps)
            throw new IllegalArgumentException("number of inference steps " + n + " exceeds num_train_timesteps " + trainSteps);
    }
}
