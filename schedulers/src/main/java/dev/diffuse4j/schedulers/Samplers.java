package dev.diffuse4j.schedulers;

import java.util.Locale;

/** Creates a scheduler by name, for command lines and configuration files. */
public final class Samplers {
    private Samplers() {}

    /** The sampler names {@link #create} accepts (case-insensitive; diffusers class names work too). */
    public static final String NAMES = "ddim, ddim-inverse, euler, dpm++2m (alias dpmsolver++), dpm++2m-karras";

    /**
     * A new scheduler. {@code ddim} / {@code DDIMScheduler}, {@code ddim-inverse} / {@code DDIMInverseScheduler},
     * {@code euler} / {@code EulerDiscreteScheduler}, {@code dpm++2m} / {@code DPMSolverMultistepScheduler}, and
     * {@code dpm++2m-karras} (DPM-Solver++ 2M with Karras sigmas whatever the config says).
     */
    public static Scheduler create(String name, SchedulerConfig config) {
        String key = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        return switch (key) {
            case "ddim", "ddimscheduler" -> new DdimScheduler(config);
            case "ddim-inverse", "ddiminversescheduler" -> new DdimInverseScheduler(config);
            case "euler", "eulerdiscretescheduler" -> new EulerDiscreteScheduler(config);
            case "dpm++2m", "dpmpp2m", "dpmsolver++", "dpmsolvermultistepscheduler" -> new DpmSolverMultistepScheduler(config);
            case "dpm++2m-karras", "dpmpp2m-karras" ->
                    new DpmSolverMultistepScheduler(config.toBuilder().useKarrasSigmas(true).build());
            default -> throw new IllegalArgumentException("unknown sampler '" + name + "'; choose one of " + NAMES);
        };
    }
}
