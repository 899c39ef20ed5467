package dev.diffuse4j.schedulers;

/** How the training betas are laid out over the training timesteps ({@code beta_schedule}). */
public enum BetaSchedule {
    /** {@code linspace(beta_start, beta_end, T)}. */
    LINEAR("linear"),
    /** {@code linspace(sqrt(beta_start), sqrt(beta_end), T)^2}: Stable Diffusion's schedule. */
    SCALED_LINEAR("scaled_linear"),
    /** Glide's cosine schedule: {@code beta_i = min(1 - abar((i+1)/T) / abar(i/T), 0.999)}. */
    SQUAREDCOS_CAP_V2("squaredcos_cap_v2");

    private final String key;

    BetaSchedule(String key) { this.key = key; }

    /** The name diffusers uses in {@code scheduler_config.json}. */
    public String key() { return key; }

    public static BetaSchedule fromKey(String key) {
        for (BetaSchedule s : values()) if (s.key.equals(key)) return s;
        throw new IllegalArgumentException("beta_schedule '" + key + "' is not one of linear, scaled_linear, squaredcos_cap_v2");
    }
}
