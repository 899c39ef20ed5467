package dev.diffuse4j.schedulers;

/** The noise level the last sigma-space step lands on ({@code final_sigmas_type}). */
public enum FinalSigmas {
    /** sigma = 0: the last step returns the model's clean-sample estimate. */
    ZERO("zero"),
    /** sigma = sigma at training step 0, {@code sqrt((1 - abar_0) / abar_0)}. */
    SIGMA_MIN("sigma_min");

    private final String key;

    FinalSigmas(String key) { this.key = key; }

    public String key() { return key; }

    public static FinalSigmas fromKey(String key) {
        for (FinalSigmas f : values()) if (f.key.equals(key)) return f;
        throw new IllegalArgumentException("final_sigmas_type '" + key + "' is not one of zero, sigma_min");
    }
}
