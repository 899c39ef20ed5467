package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionGrads;
import dev.diffuse4j.runtime.ops.AttentionMode;
import dev.diffuse4j.runtime.ops.KvSegment;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.diffuse4j.runtime.cuda.CudaBackend.address;

/**
 * Reverse mode of the attention op on the device (attention_grad.cu), joint and stratified: any
 * number of segments up to the forward's limit, broadcast and item-mapped K/V rows, logit scale and
 * bias, causal masking, and a gradient of the captured map. Inputs are cast to F32 contiguous
 * copies; the three passes (lse and D per query row, dQ per query row, dK/dV per key row) accumulate
 * in F32 without atomics, and each gradient is returned in its input's dtype, as on the CPU. Joint
 * mode is one set of passes over every segment; stratified mode one set per segment, with the output
 * gradient scaled by the segment's normalised weight per item and dQ summed over the segments.
 *
 * <p>AdaIN of Q/K/V is not covered by the kernels: those calls (and head dims above
 * {@link #MAX_DIM}) go through the exact host round trip of {@link CudaAttentionBackward}.
 */
final class CudaAttentionGrad {
    /** Head channels per lane times the warp (attention_grad.cu AG_DMAX). */
    static final int MAX_DIM = 256;

    private final CudaBackend be;

    CudaAttentionGrad(CudaBackend be) { this.be = be; }

    /** Whether the kernels handle this call (else the host round trip does). */
    static boolean supports(AttentionCall call) {
        if (call.adain() != null) return false;
        return call.q().rank() == 3 && call.heads() > 0 && call.q().dim(2) % call.heads() == 0 && call.headDim() <= MAX_DIM;
    }

    AttentionGrads backward(AttentionCall call, Tensor dOut, Tensor dMaps) {
        if (!supports(call)) return CudaAttentionBackward.backward(be, call, dOut, dMaps);
        int[][] rows = CudaAttention.validate(call);
        Tensor q0 = call.q();
        be.requireHere(q0);
        List<KvSegment> segs = call.segments();
        for (KvSegment s : segs) {
            be.requireHere(s.k());
            be.requireHere(s.v());
        }
        int B = q0.dim(0), nq = q0.dim(1), HD = q0.dim(2), H = call.heads(), D = HD / H, cap = call.captureSegment();
        checkGrads(call, dOut, dMaps);

        List<Tensor> owned = new ArrayList<>();
        try {
            Tensor q = own(owned, be.contiguousAs(q0, DType.F32));
            Tensor[] ks = new Tensor[segs.size()], vs = new Tensor[segs.size()];
            for (int j = 0; j < segs.size(); j++) {
                ks[j] = own(owned, be.contiguousAs(segs.get(j).k(), DType.F32));
                vs[j] = own(owned, be.contiguousAs(segs.get(j).v(), DType.F32));
            }
            Tensor dO = dOut == null ? null : own(owned, be.contiguousAs(dOut, DType.F32));
            Tensor dM = dMaps == null ? null : own(owned, be.contiguousAs(dMaps, DType.F32));
            Tensor lse = own(owned, be.alloc("attention backward", DType.F32, B, H, nq));
            Tensor delta = own(owned, be.alloc("attention backward", DType.F32, B, H, nq));
            Tensor dq = own(owned, be.alloc("attention backward", DType.F32, B, nq, HD));
            long dOa = CudaTypes.addressOrNull(dO), dMa = CudaTypes.addressOrNull(dM);
            int mapSeg = dM == null ? -1 : cap;
            float invH = 1f / H, scale = call.effectiveScale();
            Tensor[] noAdaIn = new Tensor[6];

            int gq = (nq + 3) / 4;
            boolean stratified = call.mode() == AttentionMode.STRATIFIED && segs.size() > 1;
            // Joint: one set of passes over every segment. Stratified: one per segment (in slot 0), dq accumulating.
            int[][] passes = new int[stratified ? segs.size() : 1][];
            if (stratified) for (int j = 0; j < segs.size(); j++) passes[j] = new int[]{j};
            else passes[0] = java.util.stream.IntStream.range(0, segs.size()).toArray();
            if (stratified) be.ctx.launch("attention backward", be.k.get("copy", "fill_e4"), be.grid(dq.numel()), 1, 1, 256, 0, address(dq), dq.numel(), 0);
            Tensor[] dk = new Tensor[segs.size()], dv = new Tensor[segs.size()];
            for (int[] which : passes) {
                float[] weights = stratified ? weights(segs, rows, which[0], B) : null;
                int passMap = -1;  // the slot of the captured segment in this pass, when a map gradient is given
                for (int slot = 0; slot < which.length; slot++) if (which[slot] == mapSeg) passMap = slot;
                byte[] p = CudaAttention.params(q, dq, null, noAdaIn, B, H, D, nq, call.causal(), stratified, which, segs, ks, vs, rows, weights, scale);
                be.ctx.launch("attention backward (lse, D)", be.k.get("attention_grad", "attn_bwd_prep"), gq, H, B, 128, 0,
                        p, dOa, dMa, passMap, invH, address(lse), address(delta));
                be.ctx.launch("attention backward (dq)", be.k.get("attention_grad", "attn_bwd_dq"), gq, H, B, 128, 0,
                        p, dOa, dMa, passMap, invH, address(lse), address(delta), address(dq));
                for (int j : which) {
                    int bk = ks[j].dim(0), nk = ks[j].dim(1);
                    dk[j] = own(owned, be.alloc("attention backward", DType.F32, bk, nk, HD));
                    dv[j] = own(owned, be.alloc("attention backward", DType.F32, bk, nk, HD));
                    byte[] pj = stratified ? p
                            : CudaAttention.params(q, dq, null, noAdaIn, B, H, D, nq, call.causal(), false, new int[]{j}, segs, ks, vs, rows, null, scale);
                    be.ctx.launch("attention backward (dk, dv of segment " + j + ")", be.k.get("attention_grad", "attn_bwd_dkv"), (nk + 3) / 4, H, bk, 128, 0,
                            pj, dOa, dMa, j == mapSeg ? 0 : -1, invH, address(lse), address(delta), address(dk[j]), address(dv[j]));
                }
            }
            List<Tensor> dks = new ArrayList<>(), dvs = new ArrayList<>();
            for (int j = 0; j < segs.size(); j++) {
                dks.add(asDtypeOf(dk[j], segs.get(j).k(), owned));
                dvs.add(asDtypeOf(dv[j], segs.get(j).v(), owned));
            }
            return new AttentionGrads(asDtypeOf(dq, q0, owned), dks, dvs);
        } finally {
            for (Tensor t : owned) t.close();
        }
    }

    /** Stratified mode: segment j's weight for each item, normalised over the segments present for it (0 where absent). */
    private static float[] weights(List<KvSegment> segs, int[][] rows, int j, int items) {
        float[] w = new float[items];
        for (int b = 0; b < items; b++) {
            double sum = 0;
            for (int i = 0; i < segs.size(); i++) if (rows[i][b] >= 0) sum += segs.get(i).weight();
            w[b] = rows[j][b] >= 0 ? (float) (segs.get(j).weight() / sum) : 0f;
        }
        return w;
    }

    private static Tensor own(List<Tensor> owned, Tensor t) {
        owned.add(t);
        return t;
    }

    /** The F32 gradient g in {@code like}'s dtype: g itself (taken out of {@code owned}) or a cast copy. */
    private Tensor asDtypeOf(Tensor g, Tensor like, List<Tensor> owned) {
        if (like.dtype() == DType.F32) {
            owned.remove(g);
            return g;
        }
        return be.cast(g, like.dtype());
    }

    private void checkGrads(AttentionCall call, Tensor dOut, Tensor dMaps) {
        Tensor q = call.q();
        if (dOut != null) {
            be.requireHere(dOut);
            CudaTypes.requireFloat("attention backward (dOut)", dOut);
            if (!Arrays.equals(dOut.shape(), q.shape()))
                throw new IllegalArgumentException("attention backward: dOut " + dOut.describe() + " must have the shape of the output, q's " + q.describe());
        }
        if (dMaps != null) {
            be.requireHere(dMaps);
            CudaTypes.requireFloat("attention backward (dMaps)", dMaps);
            int c = call.captureSegment();
            if (c < 0) throw new IllegalArgumentException("attention backward: dMaps " + dMaps.describe() + " given but the call captures no segment");
            int[] expected = {q.dim(0), q.dim(1), call.segments().get(c).k().dim(1)};
            if (!Arrays.equals(dMaps.shape(), expected))
                throw new IllegalArgumentException("attention backward: dMaps " + dMaps.describe() + " must be " + Arrays.toString(expected)
                        + " (items, queries, keys of capture segment " + c + ")");
        }
    }
}
