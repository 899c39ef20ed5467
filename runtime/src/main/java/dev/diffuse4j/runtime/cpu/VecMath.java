package dev.diffuse4j.runtime.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.nio.ByteOrder;

/**
 * Vectorised float32 math for the CPU kernels. The transcendental functions are our own polynomials
 * (pure FMA arithmetic), so their speed does not depend on whether a JDK build intrinsifies
 * {@code VectorOperators.EXP}. Coefficients were fitted for this class (near-minimax, weighted least
 * squares with Lawson iterations, see scripts/fit-vecmath.py); accuracy is stated per function.
 */
final class VecMath {
    private VecMath() {}

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int LANES = F.length();
    static final ByteOrder ORDER = ByteOrder.nativeOrder();

    // exp: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2), e^r = 1 + r + r^2 Q(r).
    private static final float LOG2E = 1.4426950216293335f;
    private static final float LN2_HI = 0.693145751953125f;     // 16 significant bits: n * LN2_HI is exact
    private static final float LN2_LO = 1.428606765330187e-06f;
    private static final float ROUND_MAGIC = 12582912f;          // 1.5 * 2^23: adding it rounds to an integer
    private static final float EXP_HI = 88.72283935546875f;      // ln(FLT_MAX)
    private static final float EXP_LO = -87.0f;                  // below: results < 1.7e-38 flush to 0
    private static final float Q0 = 0.49999994f, Q1 = 0.16666521f, Q2 = 0.04166839f, Q3 = 0.00836871f, Q4 = 0.0013814613f;

    /** e^x, within 2 ulp for x in [-87, 88.72]; 0 below, +inf above, NaN stays NaN. */
    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(EXP_LO).min(EXP_HI);
        FloatVector t = xc.fma(LOG2E, ROUND_MAGIC);
        FloatVector n = t.sub(ROUND_MAGIC);
        FloatVector r = n.fma(bc(-LN2_HI), xc);
        r = n.fma(bc(-LN2_LO), r);
        FloatVector q = r.fma(Q4, Q3);
        q = q.fma(r, bc(Q2));
        q = q.fma(r, bc(Q1));
        q = q.fma(r, bc(Q0));
        FloatVector p = q.mul(r).fma(r, r).add(1f);
        // 2^n: the low mantissa bits of t hold n; shifting them into the exponent field scales p.
        IntVector scale = t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23);
        FloatVector e = p.reinterpretAsInts().add(scale).reinterpretAsFloats();
        e = e.blend(0f, x.compare(VectorOperators.LT, EXP_LO));
        return e.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_HI));
    }

    /** 1 / (1 + e^-x). */
    static FloatVector sigmoid(FloatVector x) { return bc(1f).div(exp(x.neg()).add(1f)); }

    /** x * sigmoid(x). */
    static FloatVector silu(FloatVector x) { return x.div(exp(x.neg()).add(1f)); }

    /** CLIP's x * sigmoid(1.702 x). */
    static FloatVector quickGelu(FloatVector x) { return x.div(exp(x.mul(-1.702f)).add(1f)); }

    // GELU (tanh form): 0.5 x (1 + tanh(u)) = x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3).
    private static final float TWO_SQRT_2_OVER_PI = 2f * 0.7978845834732056f;

    static FloatVector geluTanh(FloatVector x) {
        FloatVector x3 = x.mul(x).mul(x);
        FloatVector twoU = x3.fma(bc(0.044715f), x).mul(TWO_SQRT_2_OVER_PI);
        return x.div(exp(twoU.neg()).add(1f));
    }

    // Exact GELU: x * Phi(x), Phi(x) = erfc(-x/sqrt2)/2. erfc(z) = t exp(-z^2 + P(2t - 1)), t = 1/(1 + z/2),
    // for z >= 0: relative error of erfc within a few 1e-7 wherever erfc is a normal float, so Phi keeps
    // its relative accuracy deep into the negative tail (where 1 + erf(x/sqrt2) would cancel).
    // The evaluation itself lives in Elementwise.geluErfLoop (see there for why).
    static final float RSQRT2 = 0.7071067690849304f;
    static final float P0 = -0.6717941164970398f, P1 = 0.6726431250572205f, P2 = 0.047343797981739044f,
            P3 = -0.04689319431781769f, P4 = -0.00987924449145794f, P5 = 0.008806079626083374f,
            P6 = 0.0017917663790285587f, P7 = -0.0022820173762738705f, P8 = -0.00022515653108712286f,
            P9 = 0.0005666129873134196f, P10 = 6.856264917587396e-06f, P11 = -8.455518400296569e-05f;

    static FloatVector bc(float v) { return FloatVector.broadcast(F, v); }
}
