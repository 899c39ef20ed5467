package dev.diffuse4j.model.goldens;

/**
 * How one output of a golden case compares with the expected tensor. For exact cases (token ids)
 * the tolerances are 0 and maxAbs counts mismatching elements.
 */
public record Comparison(String output, double maxAbs, double relL2, double tolMaxAbs, double tolRelL2) {
    public boolean pass() {
        return !Double.isNaN(maxAbs) && !Double.isNaN(relL2) && maxAbs <= tolMaxAbs && relL2 <= tolRelL2;
    }

    /** max |got - exp| and ||got - exp|| / ||exp||, accumulated in double. */
    public static Comparison of(String output, float[] got, float[] expected, double tolMaxAbs, double tolRelL2) {
        if (got.length != expected.length)
            throw new IllegalArgumentException(output + ": got " + got.length + " values, expected " + expected.length);
        double max = 0, diff2 = 0, ref2 = 0;
        for (int i = 0; i < got.length; i++) {
            double d = (double) got[i] - expected[i];
            if (Double.isNaN(d)) max = Double.NaN;
            else if (!Double.isNaN(max)) max = Math.max(max, Math.abs(d));
            diff2 += d * d;
            ref2 += (double) expected[i] * expected[i];
        }
        double rel = ref2 == 0 ? Math.sqrt(diff2) : Math.sqrt(diff2 / ref2);
        return new Comparison(output, max, rel, tolMaxAbs, tolRelL2);
    }
}
