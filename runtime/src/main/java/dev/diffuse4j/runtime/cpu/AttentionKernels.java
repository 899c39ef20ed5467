package dev.diffuse4j.runtime.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector kernels of the CPU attention op. Everything works "queries in lanes": a query block of
 * {@link #QB} = 4 vectors is stored transposed ({@code qt[d*QB + q]}), logits/probabilities of a key
 * block as {@code st[n*QB + q]} and the output accumulator as {@code ot[c*QB + q]}. Then both
 * products are outer-product register tiles (4 keys or 4 channels x 4 query vectors: 16 FMAs per
 * 8 loads), and the softmax's row max/sum are plain lane-wise ops with no horizontal reductions.
 */
final class AttentionKernels {
    private AttentionKernels() {}

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** Queries per block: one register tile wide. */
    static final int QB = 4 * L;
    /** Keys per block: the block's logits ({@code KB * QB} floats) stay in L1/L2. */
    static final int KB = 128;

    private static final FloatVector ZERO = FloatVector.zero(F);
    private static final FloatVector IOTA = FloatVector.fromArray(F, iota(), 0);

    private static float[] iota() {
        float[] a = new float[L];
        for (int i = 0; i < L; i++) a[i] = i;
        return a;
    }

    /**
     * st[n*QB + q] = sum_{d < depth} k[kOff + n*depth + d] * qt[d*QB + q] for n in [0, keys4)
     * (keys4 a multiple of 4; the panel holds zero rows past its last key).
     */
    static void logits(float[] k, int kOff, int depth, float[] qt, float[] st, int keys4) {
        for (int n = 0; n < keys4; n += 4) {
            int k0 = kOff + n * depth, k1 = k0 + depth, k2 = k1 + depth, k3 = k2 + depth;
            FloatVector a00 = ZERO, a01 = ZERO, a02 = ZERO, a03 = ZERO;
            FloatVector a10 = ZERO, a11 = ZERO, a12 = ZERO, a13 = ZERO;
            FloatVector a20 = ZERO, a21 = ZERO, a22 = ZERO, a23 = ZERO;
            FloatVector a30 = ZERO, a31 = ZERO, a32 = ZERO, a33 = ZERO;
            for (int d = 0, qo = 0; d < depth; d++, qo += QB) {
                FloatVector q0 = FloatVector.fromArray(F, qt, qo);
                FloatVector q1 = FloatVector.fromArray(F, qt, qo + L);
                FloatVector q2 = FloatVector.fromArray(F, qt, qo + 2 * L);
                FloatVector q3 = FloatVector.fromArray(F, qt, qo + 3 * L);
                FloatVector b0 = FloatVector.broadcast(F, k[k0 + d]);
                FloatVector b1 = FloatVector.broadcast(F, k[k1 + d]);
                FloatVector b2 = FloatVector.broadcast(F, k[k2 + d]);
                FloatVector b3 = FloatVector.broadcast(F, k[k3 + d]);
                a00 = b0.fma(q0, a00); a01 = b0.fma(q1, a01); a02 = b0.fma(q2, a02); a03 = b0.fma(q3, a03);
                a10 = b1.fma(q0, a10); a11 = b1.fma(q1, a11); a12 = b1.fma(q2, a12); a13 = b1.fma(q3, a13);
                a20 = b2.fma(q0, a20); a21 = b2.fma(q1, a21); a22 = b2.fma(q2, a22); a23 = b2.fma(q3, a23);
                a30 = b3.fma(q0, a30); a31 = b3.fma(q1, a31); a32 = b3.fma(q2, a32); a33 = b3.fma(q3, a33);
            }
            int s0 = n * QB, s1 = s0 + QB, s2 = s1 + QB, s3 = s2 + QB;
            a00.intoArray(st, s0); a01.intoArray(st, s0 + L); a02.intoArray(st, s0 + 2 * L); a03.intoArray(st, s0 + 3 * L);
            a10.intoArray(st, s1); a11.intoArray(st, s1 + L); a12.intoArray(st, s1 + 2 * L); a13.intoArray(st, s1 + 3 * L);
            a20.intoArray(st, s2); a21.intoArray(st, s2 + L); a22.intoArray(st, s2 + 2 * L); a23.intoArray(st, s2 + 3 * L);
            a30.intoArray(st, s3); a31.intoArray(st, s3 + L); a32.intoArray(st, s3 + 2 * L); a33.intoArray(st, s3 + 3 * L);
        }
    }

    /**
     * ot[c*QB + q] += sum_{n < keys4} v[vOff + n*vStride + c] * p[n*QB + q] for c in [0, channels)
     * (channels a multiple of 4, rows of v padded to it).
     */
    static void accumulate(float[] v, int vOff, int vStride, int channels, float[] p, int keys4, float[] ot) {
        for (int c = 0; c < channels; c += 4) {
            int o0 = c * QB, o1 = o0 + QB, o2 = o1 + QB, o3 = o2 + QB;
            FloatVector a00 = FloatVector.fromArray(F, ot, o0), a01 = FloatVector.fromArray(F, ot, o0 + L);
            FloatVector a02 = FloatVector.fromArray(F, ot, o0 + 2 * L), a03 = FloatVector.fromArray(F, ot, o0 + 3 * L);
            FloatVector a10 = FloatVector.fromArray(F, ot, o1), a11 = FloatVector.fromArray(F, ot, o1 + L);
            FloatVector a12 = FloatVector.fromArray(F, ot, o1 + 2 * L), a13 = FloatVector.fromArray(F, ot, o1 + 3 * L);
            FloatVector a20 = FloatVector.fromArray(F, ot, o2), a21 = FloatVector.fromArray(F, ot, o2 + L);
            FloatVector a22 = FloatVector.fromArray(F, ot, o2 + 2 * L), a23 = FloatVector.fromArray(F, ot, o2 + 3 * L);
            FloatVector a30 = FloatVector.fromArray(F, ot, o3), a31 = FloatVector.fromArray(F, ot, o3 + L);
            FloatVector a32 = FloatVector.fromArray(F, ot, o3 + 2 * L), a33 = FloatVector.fromArray(F, ot, o3 + 3 * L);
            for (int n = 0, po = 0, vi = vOff + c; n < keys4; n++, po += QB, vi += vStride) {
                FloatVector p0 = FloatVector.fromArray(F, p, po);
                FloatVector p1 = FloatVector.fromArray(F, p, po + L);
                FloatVector p2 = FloatVector.fromArray(F, p, po + 2 * L);
                FloatVector p3 = FloatVector.fromArray(F, p, po + 3 * L);
                FloatVector w0 = FloatVector.broadcast(F, v[vi]);
                FloatVector w1 = FloatVector.broadcast(F, v[vi + 1]);
                FloatVector w2 = FloatVector.broadcast(F, v[vi + 2]);
                FloatVector w3 = FloatVector.broadcast(F, v[vi + 3]);
                a00 = w0.fma(p0, a00); a01 = w0.fma(p1, a01); a02 = w0.fma(p2, a02); a03 = w0.fma(p3, a03);
                a10 = w1.fma(p0, a10); a11 = w1.fma(p1, a11); a12 = w1.fma(p2, a12); a13 = w1.fma(p3, a13);
                a20 = w2.fma(p0, a20); a21 = w2.fma(p1, a21); a22 = w2.fma(p2, a22); a23 = w2.fma(p3, a23);
                a30 = w3.fma(p0, a30); a31 = w3.fma(p1, a31); a32 = w3.fma(p2, a32); a33 = w3.fma(p3, a33);
            }
            a00.intoArray(ot, o0); a01.intoArray(ot, o0 + L); a02.intoArray(ot, o0 + 2 * L); a03.intoArray(ot, o0 + 3 * L);
            a10.intoArray(ot, o1); a11.intoArray(ot, o1 + L); a12.intoArray(ot, o1 + 2 * L); a13.intoArray(ot, o1 + 3 * L);
            a20.intoArray(ot, o2); a21.intoArray(ot, o2 + L); a22.intoArray(ot, o2 + 2 * L); a23.intoArray(ot, o2 + 3 * L);
            a30.intoArray(ot, o3); a31.intoArray(ot, o3 + L); a32.intoArray(ot, o3 + 2 * L); a33.intoArray(ot, o3 + 3 * L);
        }
    }

    /**
     * Turns raw products {@code st} of a key block into logits {@code x = cs * st + bias} (masking keys
     * after the query when {@code causal}), then runs one step of the online softmax: the running max
     * {@code m} and sum {@code l} are updated, {@code st} becomes {@code exp(x - m_new)} (zero on the
     * padding rows up to keys4) and the accumulator {@code ot} is rescaled by {@code exp(m_old - m_new)}.
     *
     * @param keyMinusQuery index of the block's first key minus the index of the block's first query
     */
    static void softmaxStep(float[] st, int keys, int keys4, float cs, float bias, boolean causal, int keyMinusQuery,
                            float[] m, float[] l, float[] ot, int channels) {
        for (int col = 0; col < QB; col += L) {
            FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (int n = 0, o = col; n < keys; n++, o += QB) {
                FloatVector x = FloatVector.fromArray(F, st, o).fma(cs, bias);
                if (causal) x = maskFutureKeys(x, keyMinusQuery + n - col);
                x.intoArray(st, o);
                max = max.max(x);
            }
            FloatVector mOld = FloatVector.fromArray(F, m, col);
            FloatVector mNew = mOld.max(max);
            FloatVector base = safeBase(mNew);
            FloatVector alpha = exp(mOld.sub(base));
            FloatVector sum = ZERO;
            for (int n = 0, o = col; n < keys; n++, o += QB) {
                FloatVector p = exp(FloatVector.fromArray(F, st, o).sub(base));
                p.intoArray(st, o);
                sum = sum.add(p);
            }
            for (int n = keys, o = keys * QB + col; n < keys4; n++, o += QB) ZERO.intoArray(st, o);
            mNew.intoArray(m, col);
            FloatVector.fromArray(F, l, col).fma(alpha, sum).intoArray(l, col);
            for (int c = 0, o = col; c < channels; c++, o += QB) FloatVector.fromArray(F, ot, o).mul(alpha).intoArray(ot, o);
        }
    }

    /**
     * Final probabilities of a key block given the final max {@code m} and sum {@code l}:
     * {@code st = exp(cs * st + bias - m) * factor / l} on the first {@code keys} rows.
     */
    static void probabilities(float[] st, int keys, float cs, float bias, boolean causal, int keyMinusQuery,
                              float[] m, float[] l, float factor) {
        for (int col = 0; col < QB; col += L) {
            FloatVector base = safeBase(FloatVector.fromArray(F, m, col));
            FloatVector scale = FloatVector.broadcast(F, factor).div(FloatVector.fromArray(F, l, col));
            for (int n = 0, o = col; n < keys; n++, o += QB) {
                FloatVector x = FloatVector.fromArray(F, st, o).fma(cs, bias);
                if (causal) x = maskFutureKeys(x, keyMinusQuery + n - col);
                exp(x.sub(base)).mul(scale).intoArray(st, o);
            }
        }
    }

    /** acc[c*QB + q] += ot[c*QB + q] * w / l[q] for c in [0, channels). */
    static void addNormalised(float[] ot, float[] l, float w, float[] acc, int channels) {
        for (int col = 0; col < QB; col += L) {
            FloatVector f = FloatVector.broadcast(F, w).div(FloatVector.fromArray(F, l, col));
            for (int c = 0, o = col; c < channels; c++, o += QB)
                FloatVector.fromArray(F, ot, o).fma(f, FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
        }
    }

    /** Masks lane i when the key lies after its query: key index - (lane 0's query index) > i. */
    private static FloatVector maskFutureKeys(FloatVector x, int keyMinusLane0) {
        if (keyMinusLane0 <= 0) return x;
        return x.blend(Float.NEGATIVE_INFINITY, IOTA.compare(VectorOperators.LT, (float) keyMinusLane0));
    }

    /** The max to subtract: a lane with no unmasked logit yet (max -inf) uses 0 so that exp gives 0, not NaN. */
    private static FloatVector safeBase(FloatVector max) {
        return max.blend(0f, max.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY));
    }

    // exp for x <= ~88: x = n ln2 + r with |r| <= ln2/2, e^r by a degree-7 polynomial (Cephes expf
    // coefficients, < 2 ulp), 2^n by building the exponent bits; x < -87.3 (and -inf) gives 0.
    private static final float LOG2E = 1.44269504088896341f;
    private static final float ROUND = 12582912f; // 1.5 * 2^23: adding it rounds to an integer
    private static final FloatVector NEG_LN2_HI = FloatVector.broadcast(F, -0.693359375f);
    private static final FloatVector NEG_LN2_LO = FloatVector.broadcast(F, 2.12194440e-4f);
    private static final FloatVector P0 = FloatVector.broadcast(F, 1.9875691500e-4f);
    private static final FloatVector P1 = FloatVector.broadcast(F, 1.3981999507e-3f);
    private static final FloatVector P2 = FloatVector.broadcast(F, 8.3334519073e-3f);
    private static final FloatVector P3 = FloatVector.broadcast(F, 4.1665795894e-2f);
    private static final FloatVector P4 = FloatVector.broadcast(F, 1.6666665459e-1f);
    private static final FloatVector P5 = FloatVector.broadcast(F, 5.0000001201e-1f);

    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.min(88f).max(-87.5f);
        FloatVector t = xc.fma(LOG2E, ROUND);
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(NEG_LN2_HI, xc);
        r = n.fma(NEG_LN2_LO, r);
        FloatVector p = P0.fma(r, P1).fma(r, P2).fma(r, P3).fma(r, P4).fma(r, P5);
        p = p.fma(r.mul(r), r).add(1f);
        IntVector bits = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND) - 127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats()).blend(0f, x.compare(VectorOperators.LT, -87.3f));
    }
}
