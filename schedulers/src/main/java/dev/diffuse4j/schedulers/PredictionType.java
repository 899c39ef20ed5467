package dev.diffuse4j.schedulers;

/** What the denoising model predicts ({@code prediction_type}). */
public enum PredictionType {
    /** The added noise. SD 1.5 and SDXL base. */
    EPSILON("epsilon"),
    /** The velocity {@code v = sqrt(abar) eps - sqrt(1 - abar) x0} (SD 2.x 768 models). */
    V_PREDICTION("v_prediction"),
    /** The clean sample x0. */
    SAMPLE("sample");

    private final String key;

    PredictionType(String key) { this.key = key; }

    public String key() { return key; }

    public static PredictionType fromKey(String key) {
        for (PredictionType p : values()) if (p.key.equals(key)) return p;
        throw new IllegalArgumentException("prediction_type '" + key + "' is not one of epsilon, v_prediction, sample");
    }
}
