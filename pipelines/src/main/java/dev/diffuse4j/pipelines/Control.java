package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.controlnet.ControlNetModel;
import dev.diffuse4j.pipelines.image.RgbImage;

/**
 * ControlNet steering of one generation: which ControlNet, the control image (a depth, soft-edge or
 * canny map the user made; resized to the output size and fed in [0, 1] RGB, as diffusers does), the
 * conditioning scale, which UNet rows get residuals (the others get zeros), and per step whether to
 * add all residuals, only the mid block's, or none.
 *
 * @param listener told at every step what was applied (for tests and logs)
 */
public record Control(ControlNetModel model, RgbImage image, double scale, Rows rows, Schedule schedule, Listener listener) {
    public Control {
        if (model == null || image == null) throw new IllegalArgumentException("ControlNet control needs a model and a control image");
        if (!(scale >= 0) || Double.isInfinite(scale)) throw new IllegalArgumentException("ControlNet conditioning scale must be >= 0, got " + scale);
        if (rows == null) rows = Rows.ALL;
        if (schedule == null) schedule = Schedule.ALWAYS;
        if (listener == null) listener = Listener.NONE;
    }

    /** Every row, every step, all residuals: diffusers' StableDiffusion(XL)ControlNetPipeline. */
    public static Control of(ControlNetModel model, RgbImage image, double scale) {
        return new Control(model, image, scale, Rows.ALL, Schedule.ALWAYS, Listener.NONE);
    }

    public Control withRows(Rows r) { return new Control(model, image, scale, r, schedule, listener); }

    public Control withSchedule(Schedule s) { return new Control(model, image, scale, rows, s, listener); }

    public Control withListener(Listener l) { return new Control(model, image, scale, rows, schedule, l); }

    /** What one step adds to the UNet. */
    public enum Level {
        /** Nothing: the ControlNet is not run. */
        OFF,
        /** Only the mid-block residual (Conditional Balance below lambda_T: structure dropped, mid kept). */
        MID_ONLY,
        /** Every down residual and the mid residual. */
        FULL
    }

    /** The level of each sampling step. */
    @FunctionalInterface
    public interface Schedule {
        Level at(int step, int numSteps, double timestep);

        Schedule ALWAYS = (step, n, t) -> Level.FULL;

        /**
         * Conditional Balance's structure balance: all residuals while {@code t >= int(lambdaT * 1000)},
         * after that the down residuals are zeroed and the mid residual kept.
         */
        static Schedule conditionalBalance(double lambdaT) {
            if (!(lambdaT >= 0 && lambdaT <= 1)) throw new IllegalArgumentException("lambda_T must be in [0, 1], got " + lambdaT);
            int removal = (int) (lambdaT * 1000);
            return (step, n, t) -> t < removal ? Level.MID_ONLY : Level.FULL;
        }

        /** All residuals for the first {@code steps} steps only. */
        static Schedule firstSteps(int steps) { return (step, n, t) -> step < steps ? Level.FULL : Level.OFF; }
    }

    /** Which rows of the UNet batch receive residuals at a step. */
    @FunctionalInterface
    public interface Rows {
        /**
         * @param items  images per guidance half
         * @param guided whether the batch is [uncond; cond]
         * @return one flag per UNet row
         */
        boolean[] select(int step, int items, boolean guided);

        Rows ALL = (step, items, guided) -> {
            boolean[] r = new boolean[guided ? 2 * items : items];
            java.util.Arrays.fill(r, true);
            return r;
        };

        /** Every row except the reference (row 0 of each half): StyleAligned / Conditional Balance / InDetail-IP. */
        Rows TARGETS = (step, items, guided) -> {
            boolean[] r = ALL.select(step, items, guided);
            r[0] = false;
            if (guided) r[items] = false;
            return r;
        };

        /**
         * InDetail-IP structure guidance: generated rows only; for the first {@code condOnlySteps} steps
         * the unconditional half gets none, so ControlNet steers only the conditional branch.
         */
        static Rows targetsCondOnlyFirst(int condOnlySteps) {
            return (step, items, guided) -> {
                boolean[] r = TARGETS.select(step, items, guided);
                if (guided && step < condOnlySteps) java.util.Arrays.fill(r, 0, items, false);
                return r;
            };
        }
    }

    /** Sees what each step applied: its level and how many rows got residuals. */
    @FunctionalInterface
    public interface Listener {
        void onControl(int step, double timestep, Level level, int rows);

        Listener NONE = (step, t, level, rows) -> {};
    }
}
