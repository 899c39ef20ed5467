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
 * Reverse mode of the attention op on the device (attention_grad.cu) for joint mode (and stratified
 * mode with one segment, which is the same op): any number of segments up to the forward's limit,
 * broadcast and item-mapped K/V rows, logit scale and bias, causal masking, and a gradient of the
 * captured map. Inputs are cast to F32 contiguous copies; the three passes (lse and D per query row,
 * dQ per query row, dK/dV per key row) accumulate in F32 without atomics, and each gradient is
 * returned in its input's dtype, as on the CPU.
 *
 * <p>AdaIN of Q/K/V and stratified mode over several segments are not covered by the kernels: those
 * calls (and head dims above {@link #MAX_DIM}) go through the exact host round trip of
 * {@link CudaAttentionBackward}.
 */
final class CudaAttentionGrad {
    /** Head channels per lane times the warp (attention_grad.cu AG_DMAX). */
    static final int MAX_DIM = 256;

    private final CudaBackend be;

    CudaAttentionGrad(CudaBackend be) { this.be = be; }

    /** Whether the kernels handle this call (else the host round trip does). */
    static boolean supports(AttentionCall call) {
        if (call.adain() != null) return false;
        if (call.mode() == AttentionMode.STRATIFIED && call.segments().size() > 1) return false;
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

            int[] all = new int[segs.size()];
            for (int j = 0; j < all.length; j++) all[j] = j;
            byte[] p = CudaAttention.params(q, dq, null, noAdaIn, B, H, D, nq, call.causal(), false, all, segs, ks, vs, rows, null, scale);
            int gq = (nq + 3) / 4;
            be.ctx.launch("attention backward (lse, D)", be.k.get("attention_grad", "attn_bwd_prep"), gq, H, B, 128, 0,
                    p, dOa, dMa, mapSeg, invH, address(lse), address(delta));
            be.ctx.launch("attention backward (dq)", be.k.get("attention_grad", "attn_bwd_dq"), gq, H, B, 128, 0,
                    p, dOa, dMa, mapSeg, invH, address(lse), address(delta), address(dq));

            List<Tensor> dks = new ArrayList<>(), dvs = new ArrayList<>();
            for (int j = 0; j < segs.size(); j++) {
                int bk = ks[j].dim(0), nk = ks[j].dim(1);
                Tensor dk = own(owned, be.alloc("attention backward", DType.F32, bk, nk, HD));
                Tensor dv = own(owned, be.alloc("attention backward", DType.F32, bk, nk, HD));
                byte[] pj = CudaAttention.params(q, dq, null, noAdaIn, B, H, D, nq, call.causal(), false, new int[]{j}, segs, ks, vs, rows, null, scale);
                be.ctx.launch("attention backward (dk, dv of segment " + j + ")", be.k.get("attention_grad", "attn_bwd_dkv"), (nk + 3) / 4, H, bk, 128, 0,
                        pj, dOa, dMa, j == mapSeg ? 0 : -1, invH, address(lse), address(delta), address(dk), address(dv));
                dks.add(asDtypeOf(dk, segs.get(j).k(), owned));
                dvs.add(asDtypeOf(dv, segs.get(j).v(), owned));
            }
            return new AttentionGrads(asDtypeOf(dq, q0, owned), dks, dvs);
        } finally {
            for (Tensor t : owned) t.close();
        }
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
