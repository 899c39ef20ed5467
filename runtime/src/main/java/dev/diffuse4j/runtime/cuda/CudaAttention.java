package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AdaInSpec;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionMode;
import dev.diffuse4j.runtime.ops.AttentionResult;
import dev.diffuse4j.runtime.ops.KvSegment;

import java.util.ArrayList;
import java.util.List;

import static dev.diffuse4j.runtime.cuda.CudaBackend.address;

/**
 * The attention op of DESIGN §3 on attention.cu: one fused launch for joint mode (all segments
 * under one online softmax), one accumulating launch per segment for stratified mode, AdaIN as
 * per-(item, channel) affines computed by two small kernels and applied inside the attention
 * kernel's loads, and a second pass for the head-averaged probability maps.
 */
final class CudaAttention {
    static final int MAX_SEGMENTS = 4, MAX_BATCH = 64, SIMT_MAX_DIM = 256;
    private static final double LOG2E = 1.4426950408889634;

    private final CudaBackend be;
    private final CudaWgmmaAttention hopper;

    CudaAttention(CudaBackend be) {
        this.be = be;
        this.hopper = new CudaWgmmaAttention(be);
    }

    /** One launch of the chosen kernel for the segments {@code which} (slot i holds segment which[i]). */
    private interface Launch {
        void run(String op, byte[] params, int[] which);
    }

    /** Per-call device tensors to close at the end. */
    private static final class Owned implements AutoCloseable {
        final List<Tensor> ts = new ArrayList<>();

        Tensor add(Tensor t) { if (t != null) ts.add(t); return t; }

        @Override public void close() { for (Tensor t : ts) t.close(); }
    }

    AttentionResult attention(AttentionCall call) {
        int[][] rows = validate(call);
        Tensor q0 = call.q();
        int B = q0.dim(0), nq = q0.dim(1), HD = q0.dim(2), H = call.heads();
        int D = HD / H;
        List<KvSegment> segs = call.segments();
        DType t = q0.dtype();
        int cap = call.captureSegment();
        be.requireHere(q0);
        for (KvSegment s : segs) {
            be.requireHere(s.k());
            be.requireHere(s.v());
        }

        try (Owned own = new Owned()) {
            Tensor q = own.add(tokenMajor(q0, t));
            Tensor[] ks = new Tensor[segs.size()], vs = new Tensor[segs.size()];
            for (int j = 0; j < segs.size(); j++) {
                ks[j] = own.add(tokenMajor(segs.get(j).k(), t));
                vs[j] = own.add(tokenMajor(segs.get(j).v(), t));
            }
            Tensor[] adain = adain(call.adain(), q, ks[0], vs[0], rows[0], B, HD, own);

            boolean flash = CudaTypes.isHalf(t) && D % 8 == 0 && D <= 160 && aligned(q);
            for (int j = 0; j < segs.size(); j++) flash &= aligned(ks[j]) && aligned(vs[j]);
            if (!flash && D > SIMT_MAX_DIM)
                throw new IllegalArgumentException("attention on cuda: head dim " + D + " exceeds " + SIMT_MAX_DIM + " for " + t + " (" + q0.describe() + ")");
            int dp = 0;
            if (flash) for (int d : CudaKernels.FLASH_DIMS) if (d >= D) { dp = d; break; }
            // Q tile + double-buffered K and V tiles; head dim 160 needs 105 KiB, more than sm_86/sm_89 allow (99 KiB).
            int flashSmem = (64 + 4 * 64) * (dp + 8) * 2;
            flash &= flashSmem <= be.ctx.maxSmemPerBlock;
            String sfx = CudaTypes.suffix(t);
            CudaContext.Kernel kern = flash ? be.k.get("attention", "flash_" + sfx + "_d" + dp) : be.k.get("attention", "attn_simt_" + sfx);
            int gx = flash ? (nq + 63) / 64 : (nq + 3) / 4, smem = flash ? flashSmem : 0;
            CudaWgmmaAttention.Maps tmaps = hopper.enabled() && hopper.refusal(t, D, q, ks, vs) == null
                    ? hopper.encode("attention", t, q, ks, vs) : null;
            Launch launch = tmaps != null
                    ? (op, p, which) -> hopper.launch(op, t, p, tmaps, which, B, H, nq)
                    : (op, p, which) -> be.ctx.launch(op, kern, gx, H, B, 128, smem, p);

            Tensor out = be.alloc("attention", t, B, nq, HD);
            Tensor lse = cap >= 0 ? own.add(be.alloc("attention", DType.F32, B, H, nq)) : null;
            float scale = call.effectiveScale();
            byte[] mapParams;
            int mapSlot;
            if (call.mode() == AttentionMode.JOINT || segs.size() == 1) {  // one segment: its normalised weight is 1
                int[] all = new int[segs.size()];
                for (int j = 0; j < all.length; j++) all[j] = j;
                byte[] p = params(q, out, lse, adain, B, H, D, nq, call.causal(), false, all, segs, ks, vs, rows, null, scale);
                launch.run("attention", p, all);
                mapParams = p;
                mapSlot = cap;
            } else {
                // Stratified: out = sum_j w_j(b) softmax_j V_j, weights normalised over the segments present for b.
                Tensor acc = t == DType.F32 ? out : own.add(be.alloc("attention", DType.F32, B, nq, HD));
                fillZero(acc);
                float[][] w = new float[segs.size()][B];
                for (int b = 0; b < B; b++) {
                    double sum = 0;
                    for (int j = 0; j < segs.size(); j++) if (rows[j][b] >= 0) sum += segs.get(j).weight();
                    for (int j = 0; j < segs.size(); j++) w[j][b] = rows[j][b] >= 0 ? (float) (segs.get(j).weight() / sum) : 0f;
                }
                mapParams = null;
                for (int j = 0; j < segs.size(); j++) {
                    if (segs.get(j).weight() == 0f && j != cap) continue;
                    // Queries are AdaIN'd for every segment; keys/values only in segment 0's launch.
                    Tensor[] ad = j == 0 ? adain : new Tensor[]{adain[0], adain[1], null, null, null, null};
                    byte[] p = params(q, acc, j == cap ? lse : null, ad, B, H, D, nq,
                            call.causal(), true, new int[]{j}, segs, ks, vs, rows, w[j], scale);
                    launch.run("attention (stratified segment " + j + ")", p, new int[]{j});
                    if (j == cap) mapParams = p;
                }
                mapSlot = 0;
                if (acc != out) {
                    try (Tensor cast = be.cast(acc, t)) {
                        be.copyInto(cast, out);
                    }
                }
            }
            Tensor maps = null;
            if (cap >= 0) {
                int nk = segs.get(cap).k().dim(1);
                maps = be.alloc("attention maps", DType.F32, B, nq, nk);
                long n = (long) B * nq * nk;
                be.ctx.launch("attention maps", be.k.get("attention", "attn_maps_" + sfx), be.grid(n), 1, 1, 256, 0,
                        mapParams, mapSlot, address(maps));
            }
            return new AttentionResult(out, maps);
        }
    }

    /**
     * Checks a call against what the kernels take (shapes, item maps, at most {@link #MAX_SEGMENTS}
     * segments and {@link #MAX_BATCH} items, causal and capture constraints) and returns, per segment
     * and query item, the K/V row it reads or -1. Shared by the forward and {@link CudaAttentionGrad}.
     */
    static int[][] validate(AttentionCall call) {
        Tensor q0 = call.q();
        CudaTypes.requireFloat("attention", q0);
        if (q0.rank() != 3) throw new IllegalArgumentException("attention: q must be [B, Nq, H*D], got " + q0.describe());
        int B = q0.dim(0), nq = q0.dim(1), HD = q0.dim(2), H = call.heads();
        if (H <= 0 || HD % H != 0) throw new IllegalArgumentException("attention: " + HD + " channels do not split into " + H + " heads");
        List<KvSegment> segs = call.segments();
        if (segs.isEmpty()) throw new IllegalArgumentException("attention: no KV segments");
        if (segs.size() > MAX_SEGMENTS) throw new IllegalArgumentException("attention on cuda takes at most " + MAX_SEGMENTS + " KV segments, got " + segs.size());
        if (B > MAX_BATCH) throw new IllegalArgumentException("attention on cuda takes at most " + MAX_BATCH + " batch items per call, got " + B);
        int[][] rows = new int[segs.size()][B];
        for (int j = 0; j < segs.size(); j++) {
            KvSegment s = segs.get(j);
            Tensor k = s.k(), v = s.v();
            if (k.rank() != 3 || v.rank() != 3 || k.dim(2) != HD || v.dim(2) != HD || k.dim(1) != v.dim(1) || k.dim(0) != v.dim(0))
                throw new IllegalArgumentException("attention: segment " + j + " k " + k.describe() + " / v " + v.describe()
                        + " must both be [Bk, Nk, " + HD + "]");
            int bk = k.dim(0);
            if (s.itemMap() != null && s.itemMap().length != B)
                throw new IllegalArgumentException("attention: segment " + j + " item map has " + s.itemMap().length + " entries for " + B + " items");
            if (s.itemMap() == null && bk != B && bk != 1)
                throw new IllegalArgumentException("attention: segment " + j + " has " + bk + " rows for " + B + " items and no item map");
            for (int b = 0; b < B; b++) {
                int r = s.rowFor(b, B);
                if (r < -1 || r >= bk) throw new IllegalArgumentException("attention: segment " + j + " maps item " + b + " to row " + r + " of " + bk);
                rows[j][b] = r;
            }
        }
        for (int b = 0; b < B; b++) {
            boolean any = false;
            float weight = 0f;
            for (int j = 0; j < rows.length; j++)
                if (rows[j][b] >= 0) {
                    any = true;
                    weight += segs.get(j).weight();
                }
            if (!any) throw new IllegalArgumentException("attention: item " + b + " has no present KV segment");
            if (call.mode() == AttentionMode.STRATIFIED && (weight == 0f || !Float.isFinite(weight)))
                throw new IllegalArgumentException("attention: stratified weights of the segments present for item " + b
                        + " sum to " + weight + "; they must sum to a finite non-zero value");
        }
        if (call.causal() && (segs.size() != 1 || segs.getFirst().k().dim(1) != nq))
            throw new IllegalArgumentException("attention: causal masking needs one segment with Nk == Nq");
        int cap = call.captureSegment();
        if (cap < -1 || cap >= segs.size()) throw new IllegalArgumentException("attention: capture segment " + cap + " does not exist");
        return rows;
    }

    private void fillZero(Tensor f32) {
        long n = f32.numel();
        be.ctx.launch("attention", be.k.get("copy", "fill_e4"), be.grid(n), 1, 1, 256, 0, address(f32), n, 0);
    }

    /** x as [B, N, C] with unit channel stride and dtype t (shared when it already is, else copied). */
    private Tensor tokenMajor(Tensor x, DType t) {
        if (x.dtype() == t && x.stride(2) == 1) return x.share();
        return be.contiguousAs(x, t);
    }

    /** Token and batch strides multiples of 8 elements and a 16-byte aligned base: the flash kernel's 16-byte loads. */
    private static boolean aligned(Tensor x) {
        return x.stride(1) % 8 == 0 && x.stride(0) % 8 == 0 && address(x) % 16 == 0;
    }

    /** AdaIN affines {qa, qc, ka, kc, va, vc} ([B, H*D] F32) or nulls. */
    private Tensor[] adain(AdaInSpec spec, Tensor q, Tensor k0, Tensor v0, int[] rows0, int B, int HD, Owned own) {
        Tensor[] out = new Tensor[6];
        if (spec == null) return out;
        if (spec.refItem().length != B)
            throw new IllegalArgumentException("attention: AdaIN refItem has " + spec.refItem().length + " entries for " + B + " items");
        if (!(spec.eps() >= 0f) || !Float.isFinite(spec.eps()))
            throw new IllegalArgumentException("attention: AdaIN eps must be finite and >= 0, got " + spec.eps());
        int[] self = new int[B], refQ = new int[B], srcK = new int[B], refK = new int[B];
        for (int b = 0; b < B; b++) {
            int r = spec.refItem()[b];
            if (r < -1 || r >= B) throw new IllegalArgumentException("attention: AdaIN refItem[" + b + "] = " + r + " is not an item");
            if (r >= 0 && (spec.keys() || spec.values()) && rows0[b] >= 0 && rows0[r] < 0)
                throw new IllegalArgumentException("attention: AdaIN reference item " + r + " of item " + b + " has no keys in segment 0");
            if (r >= 0 && spec.queries() && q.dim(1) < 2)
                throw new IllegalArgumentException("attention: AdaIN of queries needs at least 2 tokens for a variance; q is " + q.describe());
            if (r >= 0 && (spec.keys() || spec.values()) && k0.dim(1) < 2)
                throw new IllegalArgumentException("attention: AdaIN of keys/values needs at least 2 tokens; segment 0 keys are " + k0.describe());
            self[b] = b;
            refQ[b] = r;
            srcK[b] = Math.max(rows0[b], 0);
            refK[b] = r >= 0 && rows0[b] >= 0 && rows0[r] >= 0 ? rows0[r] : -1;
        }
        if (spec.queries()) affine(q, self, refQ, spec.eps(), HD, out, 0, own);
        if (spec.keys()) affine(k0, srcK, refK, spec.eps(), HD, out, 2, own);
        if (spec.values()) affine(v0, srcK, refK, spec.eps(), HD, out, 4, own);
        return out;
    }

    private void affine(Tensor x, int[] src, int[] ref, float eps, int C, Tensor[] out, int at, Owned own) {
        int rowsX = x.dim(0), n = x.dim(1);
        String sfx = CudaTypes.suffix(x.dtype());
        Tensor mean = own.add(be.alloc("attention adain", DType.F32, rowsX, C));
        Tensor std = own.add(be.alloc("attention adain", DType.F32, rowsX, C));
        be.ctx.launch("attention adain statistics", be.k.get("norms", "channel_stats_" + sfx), (C + 31) / 32, rowsX, 1, 256, 0,
                address(x), x.stride(1), x.stride(0), address(mean), address(std), n, C, eps);
        int B = src.length;
        Tensor a = own.add(be.alloc("attention adain", DType.F32, B, C));
        Tensor c = own.add(be.alloc("attention adain", DType.F32, B, C));
        CStruct pairs = new CStruct(1032).i32(B);
        for (int i = 0; i < 128; i++) pairs.i32(i < B ? src[i] : 0);
        for (int i = 0; i < 128; i++) pairs.i32(i < B ? ref[i] : -1);
        be.ctx.launch("attention adain", be.k.get("norms", "adain_coefficients"), be.grid((long) B * C), 1, 1, 256, 0,
                address(mean), address(std), pairs.bytes(), C, address(a), address(c));
        out[at] = a;
        out[at + 1] = c;
    }

    /**
     * The AttnParams struct of attention.cuh for the segments {@code which} (slot i holds segment
     * which[i]). Each segment's logit scale and bias apply in both modes, as on the CPU (in
     * stratified mode the bias cancels in its own softmax; the scale sharpens or flattens it).
     */
    static byte[] params(Tensor q, Tensor out, Tensor lse, Tensor[] adain, int B, int H, int D, int nq,
                                 boolean causal, boolean accumulate, int[] which, List<KvSegment> segs, Tensor[] ks, Tensor[] vs,
                                 int[][] rows, float[] weights, float scale) {
        CStruct s = new CStruct(1168);
        s.ptr(address(q)).i64(q.stride(1)).i64(q.stride(0));
        s.ptr(address(out)).i64(out.stride(1)).i64(out.stride(0));
        s.ptr(CudaTypes.addressOrNull(lse));
        for (int i = 0; i < 6; i++) s.ptr(CudaTypes.addressOrNull(adain[i]));
        s.i32(B).i32(H).i32(D).i32(nq);
        s.i32(which.length).i32(causal ? 1 : 0).i32(accumulate ? 1 : 0).i32(0);
        for (int slot = 0; slot < MAX_SEGMENTS; slot++) {
            if (slot < which.length) {
                int j = which[slot];
                KvSegment sg = segs.get(j);
                float c = sg.logitScale(), bias = sg.logitBias();
                s.ptr(address(ks[j])).ptr(address(vs[j]))
                        .i64(ks[j].stride(1)).i64(ks[j].stride(0)).i64(vs[j].stride(1)).i64(vs[j].stride(0))
                        .i32(ks[j].dim(1)).f32((float) (scale * c * LOG2E)).f32((float) (bias * LOG2E)).i32(0);
            } else {
                s.ptr(0).ptr(0).i64(0).i64(0).i64(0).i64(0).i32(0).f32(0f).f32(0f).i32(0);
            }
        }
        for (int slot = 0; slot < MAX_SEGMENTS; slot++)
            for (int b = 0; b < MAX_BATCH; b++)
                s.i16((short) (slot < which.length && b < B ? rows[which[slot]][b] : -1));
        for (int b = 0; b < MAX_BATCH; b++) s.f32(weights != null && b < B ? weights[b] : 1f);
        byte[] bytes = s.bytes();
        if (bytes.length != 1160) throw new IllegalStateException("AttnParams layout drifted: " + bytes.length + " bytes, expected 1160");
        return bytes;
    }
}
