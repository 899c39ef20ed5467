package dev.diffuse4j.schedulers.noise;

/**
 * Single-precision log and sin/cos as PyTorch's AVX2 {@code normal_} kernel evaluates them: the Cephes
 * polynomials of {@code avx_mathfun.h} (Pommier / Garberoglio), one lane at a time, with the multiply-adds
 * that GCC contracts into FMA instructions when it builds that file with {@code -mavx2 -mfma} (its
 * default {@code -ffp-contract=fast}). A multiply whose only use is an add or subtract becomes one fused
 * operation; the first such multiply in statement order wins. Reproducing the rounding of every step is
 * what makes {@link TorchCpuRandn} bit-identical to {@code torch.randn} on x86 rather than within an ulp.
 */
final class CephesAvx2 {
    private CephesAvx2() {}

    private static final float MIN_NORM_POS = Float.intBitsToFloat(0x00800000);
    private static final float SQRTHF = 0.707106781186547524f;
    private static final float[] LOG_P = {
        7.0376836292E-2f, -1.1514610310E-1f, 1.1676998740E-1f, -1.2420140846E-1f, 1.4249322787E-1f,
        -1.6668057665E-1f, 2.0000714765E-1f, -2.4999993993E-1f, 3.3333331174E-1f};
    private static final float LOG_Q1 = -2.12194440e-4f, LOG_Q2 = 0.693359375f;

    private static final float FOPI = 1.27323954473516f; // 4 / pi
    private static final float DP1 = -0.78515625f, DP2 = -2.4187564849853515625e-4f, DP3 = -3.77489497744594108e-8f;
    private static final float SIN_P0 = -1.9515295891E-4f, SIN_P1 = 8.3321608736E-3f, SIN_P2 = -1.6666654611E-1f;
    private static final float COS_P0 = 2.443315711809948E-005f, COS_P1 = -1.388731625493765E-003f, COS_P2 = 4.166664568298827E-002f;

    /** Natural log; NaN for x &lt;= 0 (only positive arguments reach it from the normal kernel). */
    static float log(float x) {
        if (!(x > 0)) return Float.NaN;
        x = Math.max(x, MIN_NORM_POS);
        int bits = Float.floatToRawIntBits(x);
        float e = (float) ((bits >>> 23) - 0x7f) + 1f;
        x = Float.intBitsToFloat((bits & ~0x7f800000) | Float.floatToRawIntBits(0.5f)); // mantissa in [0.5, 1)
        if (x < SQRTHF) {
            e -= 1f;
            x = (x - 1f) + x;
        } else {
            x = x - 1f;
        }
        float z = x * x;
        float y = LOG_P[0];
        for (int i = 1; i < LOG_P.length; i++) y = Math.fma(y, x, LOG_P[i]);
        y = y * x;
        y = Math.fma(y, z, e * LOG_Q1);
        y = y - z * 0.5f;            // z * 0.5 is exact, so fused or not gives the same
        x = x + y;
        return Math.fma(e, LOG_Q2, x);
    }

    /** Writes sin(x) to {@code out[0]} and cos(x) to {@code out[1]}. */
    static void sincos(float x, float[] out) {
        boolean negative = Float.floatToRawIntBits(x) < 0;
        x = Math.abs(x);
        int j = (int) (x * FOPI);          // truncation, as cvttps
        j = (j + 1) & ~1;
        float y = j;
        boolean swapSin = (j & 4) != 0;
        boolean cosPolyForSin = (j & 2) != 0;
        boolean negCos = ((~(j - 2)) & 4) != 0;
        boolean negSin = negative ^ swapSin;

        x = Math.fma(y, DP1, x);           // extended-precision reduction x - j * pi/4
        x = Math.fma(y, DP2, x);
        x = Math.fma(y, DP3, x);
        float z = x * x;

        float c = Math.fma(COS_P0, z, COS_P1);
        c = Math.fma(c, z, COS_P2);
        c = c * z;
        c = Math.fma(c, z, -(z * 0.5f));
        c = c + 1f;

        float s = Math.fma(SIN_P0, z, SIN_P1);
        s = Math.fma(s, z, SIN_P2);
        s = s * z;
        s = Math.fma(s, x, x);

        // the kernel selects with masks and adds a +0 lane, which also turns -0 into +0
        float sin = (cosPolyForSin ? c : s) + 0f;
        float cos = (cosPolyForSin ? s : c) + 0f;
        out[0] = negSin ? -sin : sin;
        out[1] = negCos ? -cos : cos;
    }
}
