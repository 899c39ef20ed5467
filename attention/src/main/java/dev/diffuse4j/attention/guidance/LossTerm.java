package dev.diffuse4j.attention.guidance;

/**
 * One scalar term of a guidance objective with its gradient wrt the smoothed subject maps
 * ({@code dSmoothed[s]}, null = 0) and wrt the raw self-attention map ({@code dSelf}, null = 0).
 */
public record LossTerm(double value, double[][] dSmoothed, double[] dSelf) {
    public static LossTerm zero(int subjects) { return new LossTerm(0, new double[subjects][], null); }

    /** {@code sum_k weights[k] * terms[k]}. */
    public static LossTerm sum(double[] weights, LossTerm... terms) {
        if (weights.length != terms.length) throw new IllegalArgumentException(weights.length + " weights for " + terms.length + " terms");
        int subjects = terms[0].dSmoothed.length;
        double value = 0;
        double[][] dS = new double[subjects][];
        double[] dSelf = null;
        for (int k = 0; k < terms.length; k++) {
            double a = weights[k];
            LossTerm t = terms[k];
            value += a * t.value;
            if (a == 0) continue;
            for (int s = 0; s < subjects; s++) {
                if (t.dSmoothed[s] == null) continue;
                if (dS[s] == null) dS[s] = new double[t.dSmoothed[s].length];
                for (int i = 0; i < dS[s].length; i++) dS[s][i] += a * t.dSmoothed[s][i];
            }
            if (t.dSelf != null) {
                if (dSelf == null) dSelf = new double[t.dSelf.length];
                for (int i = 0; i < dSelf.length; i++) dSelf[i] += a * t.dSelf[i];
            }
        }
        return new LossTerm(value, dS, dSelf);
    }

    /** The same term with value and gradient zeroed (a gated term). */
    public LossTerm gatedOff() { return zero(dSmoothed.length); }

    /** dLoss/dMaps through the subject-map preprocessing. */
    public MapGradient toMaps(SubjectMaps maps) { return maps.gradient(dSmoothed, dSelf); }
}
