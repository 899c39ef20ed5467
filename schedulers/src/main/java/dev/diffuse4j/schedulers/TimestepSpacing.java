package dev.diffuse4j.schedulers;

/**
 * How inference timesteps are picked from the training range ({@code timestep_spacing}; Table 2 of
 * Lin et al., "Common Diffusion Noise Schedules and Sample Steps are Flawed", 2023).
 *
 * <p>Pitfall: when {@code scheduler_config.json} has no {@code timestep_spacing} key (the SD 1.5 file has
 * none), diffusers uses the <em>target class's</em> default: {@link #LEADING} for DDIM and DDIM inversion,
 * {@link #LINSPACE} for Euler and DPM-Solver++. {@link SchedulerConfig#timestepSpacing()} is therefore
 * nullable and each scheduler resolves it with its own default.
 */
public enum TimestepSpacing {
    /** Multiples of {@code T div N} counted up from 0, plus {@code steps_offset}. */
    LEADING("leading"),
    /** Multiples of {@code T / N} counted down from T, minus one: always includes T - 1. */
    TRAILING("trailing"),
    /** {@code linspace(0, T - 1, N)}, rounded for integer-timestep schedulers. */
    LINSPACE("linspace");

    private final String key;

    TimestepSpacing(String key) { this.key = key; }

    public String key() { return key; }

    public static TimestepSpacing fromKey(String key) {
        for (TimestepSpacing s : values()) if (s.key.equals(key)) return s;
        throw new IllegalArgumentException("timestep_spacing '" + key + "' is not one of leading, trailing, linspace");
    }
}
