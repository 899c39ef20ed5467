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
            // zero() inline, not a static constant: loop phis must start from an intrinsic to stay in registers
            FloatVector z = FloatVector.zero(F);
            FloatVector a00 = z, a01 = z, a02 = z, a03 = z;
            FloatVector a10 = z, a11 = z, a12 = z, a13 = z;
            FloatVector a20 = z, a21 = z, a22 = z, a23 = z;
            FloatVector a30 = z, a31 = z, a32 = z, a33 = z;
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
     * One step of the online softmax over a key block whose raw products q.k are in {@code st}:
     * logits are {@code cs * st + bias} (keys after the query masked when {@code causal}); the running
     * max {@code m} and sum {@code l} per query are updated, {@code st} becomes the block's
     * {@code exp(logit - m_new)} (zero on the padding rows up to keys4), and the accumulator {@code ot}
     * is rescaled by {@code exp(m_old - m_new)}. Works in base 2 ({@code m} holds log2-units):
     * {@code e^x = 2^(x log2 e)}, with log2 e folded into the logit scale.
     *
     * @param keyMinusQuery index of the block's first key minus the index of the block's first query
     */
    static void softmaxStep(float[] st, int keys, int keys4, float cs, float bias, boolean causal, int keyMinusQuery,
                            float[] m, float[] l, float[] ot, int channels) {
        float cs2 = cs * LOG2E, bias2 = bias * LOG2E;
        for (int col = 0; col < QB; col += L) {
            FloatVector max = blockMax(st, keys, col, cs2, bias2, causal, keyMinusQuery);
            FloatVector mOld = FloatVector.fromArray(F, m, col);
            FloatVector mNew = max.blend(mOld, mOld.compare(VectorOperators.GT, max));
            FloatVector base = safeBase(mNew);
            FloatVector alpha = pow2(mOld.sub(base));
            // causal blocks hold the masked logits already; others are scaled on the fly
            FloatVector mul = FloatVector.broadcast(F, causal ? 1f : cs2);
            FloatVector add = (causal ? FloatVector.zero(F) : FloatVector.broadcast(F, bias2)).sub(base);
            FloatVector sum = FloatVector.zero(F);
            for (int n = 0, o = col; n < keys; n++, o += QB) {
                FloatVector p = pow2(FloatVector.fromArray(F, st, o).fma(mul, add));
                p.intoArray(st, o);
                sum = sum.add(p);
            }
            for (int n = keys, o = keys * QB + col; n < keys4; n++, o += QB) FloatVector.zero(F).intoArray(st, o);
            mNew.intoArray(m, col);
            FloatVector.fromArray(F, l, col).fma(alpha, sum).intoArray(l, col);
            if (alpha.compare(VectorOperators.NE, 1f).anyTrue())
                for (int c = 0, o = col; c < channels; c++, o += QB) FloatVector.fromArray(F, ot, o).mul(alpha).intoArray(ot, o);
        }
    }

    /** Max over the block's logits of one query column (causal: also writes the masked logits back). */
    private static FloatVector blockMax(float[] st, int keys, int col, float cs2, float bias2, boolean causal, int keyMinusQuery) {
        FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int n = 0, o = col; n < keys; n++, o += QB) {
            FloatVector x = FloatVector.fromArray(F, st, o).fma(cs2, bias2);
            if (causal) {
                x = maskFutureKeys(x, keyMinusQuery + n - col);
                x.intoArray(st, o);
            }
            max = max.blend(x, x.compare(VectorOperators.GT, max));
        }
        return max;
    }

    /**
     * Final probabilities of a key block given the final max {@code m} (log2-units) and sum {@code l}
     * of {@link #softmaxStep}: {@code st = exp(cs * st + bias - m) * factor / l} on the first keys rows.
     */
    static void probabilities(float[] st, int keys, float cs, float bias, boolean causal, int keyMinusQuery,
                              float[] m, float[] l, float factor) {
        float cs2 = cs * LOG2E, bias2 = bias * LOG2E;
        for (int col = 0; col < QB; col += L) {
            FloatVector base = safeBase(FloatVector.fromArray(F, m, col));
            FloatVector scale = FloatVector.broadcast(F, factor).div(FloatVector.fromArray(F, l, col));
            for (int n = 0, o = col; n < keys; n++, o += QB) {
                FloatVector x = FloatVector.fromArray(F, st, o).fma(cs2, bias2);
                if (causal) x = maskFutureKeys(x, keyMinusQuery + n - col);
                pow2(x.sub(base)).mul(scale).intoArray(st, o);
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

    private static final float LOG2E = 1.44269504088896341f;
    private static final float ROUND = 12582912f; // 1.5 * 2^23: adding it rounds to an integer
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);

    /**
     * 2^x for x <= 0 (the softmax only ever needs those): x = n + f with n = round(x), |f| <= 1/2;
     * 2^f by a degree-6 polynomial (relative error < 1e-7, i.e. about 1 ulp, fitted for this op),
     * 2^n by writing n into the exponent bits. x < -126 (and -inf) gives 0; NaN stays NaN.
     * Constants are broadcast inline: C2 does not reliably keep static final vectors unboxed.
     */
    static FloatVector pow2(FloatVector x) {
        FloatVector t = x.add(ROUND);
        FloatVector f = x.sub(t.sub(ROUND));
        FloatVector p = f.fma(1.5345811e-4f, 1.3399931e-3f);
        p = p.fma(f, FloatVector.broadcast(F, 9.618489e-3f));
        p = p.fma(f, FloatVector.broadcast(F, 5.5503286e-2f));
        p = p.fma(f, FloatVector.broadcast(F, 2.4022646e-1f));
        p = p.fma(f, FloatVector.broadcast(F, 6.931472e-1f));
        p = p.fma(f, FloatVector.broadcast(F, 1f));
        IntVector exponent = t.reinterpretAsInts().sub(ROUND_BITS - 127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(exponent.reinterpretAsFloats()).blend(0f, x.compare(VectorOperators.LT, -126f));
    }
}
