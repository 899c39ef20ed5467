package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;

import static dev.diffuse4j.runtime.cuda.CudaBackend.address;

/**
 * attention_sm90.cu: the Hopper flash attention (TMA + wgmma for both products) for head dim 64,
 * every head of SDXL. It takes the whole contract of attention.cu's flash kernels (joint segments
 * with item maps, AdaIN, causal, stratified accumulation, the log-sum-exp for maps) and the same
 * {@code AttnParams}, plus one tensor map for Q and for each segment's K and V.
 *
 * <p>Part of the opt-in wgmma path ({@link CudaBackend#useWgmmaGemm}, {@code --cuda-gemm wgmma}):
 * used only on sm_90 when that path is on, for F16/BF16 with head dim 64 and operands TMA can load;
 * everything else keeps the mma.sync kernels. Not yet validated on a GPU: CudaWgmmaAttentionTest
 * checks it against the CPU backend on the host emulator run as sm_90.
 */
final class CudaWgmmaAttention {
    static final int HEAD_DIM = 64, BLOCK_QUERIES = 128, BLOCK_KEYS = 128, THREADS = 288;
    /** One Q, K or V tile: 128 rows of 64 16-bit channels. */
    private static final int TILE_BYTES = BLOCK_KEYS * HEAD_DIM * 2;
    /** attention_sm90.cu FLASH_WGMMA_SMEM_BYTES: the Q tile, two stages of K and V tiles, 1 KiB to align them. */
    static final int SMEM_BYTES = TILE_BYTES + 2 * 2 * TILE_BYTES + 1024;
    private static final int MAP_BYTES = 128;

    private final CudaBackend be;

    CudaWgmmaAttention(CudaBackend be) { this.be = be; }

    /** Whether attention calls go here when they can (the wgmma path is on). */
    boolean enabled() { return be.linalg.wgmma.enabled(); }

    /**
     * Why this call cannot run here, or null when it can: q [B, Nq, H*D] and the K / V of each
     * segment [rows, Nk, H*D], token-major with unit channel stride.
     */
    String refusal(DType t, int headDim, Tensor q, Tensor[] ks, Tensor[] vs) {
        if (!be.linalg.wgmma.hopper()) return "not an sm_90 device";
        if (headDim != HEAD_DIM) return "head dim " + headDim + " (the kernel is for " + HEAD_DIM + ")";
        if (t != DType.F16 && t != DType.BF16) return "dtype " + t;
        String why = mapRefusal(t, q);
        if (why != null) return "q: " + why;
        for (int j = 0; j < ks.length; j++) {
            why = mapRefusal(t, ks[j]);
            if (why == null) why = mapRefusal(t, vs[j]);
            if (why != null) return "segment " + j + ": " + why;
        }
        return null;
    }

    private static String mapRefusal(DType t, Tensor x) {
        return TensorMapSpec.refusal(t, address(x), x.dim(1), x.dim(2), x.stride(1), x.dim(0), x.stride(0), BLOCK_KEYS, HEAD_DIM);
    }

    private static TensorMapSpec spec(String op, DType t, Tensor x) {
        return TensorMapSpec.kMajor(op, t, address(x), x.dim(1), x.dim(2), x.stride(1), x.dim(0), x.stride(0), BLOCK_KEYS, HEAD_DIM);
    }

    /** The tensor maps of one attention call: Q's, and each segment's K and V (128 bytes each). */
    record Maps(byte[] q, byte[][] k, byte[][] v) {}

    /** Encodes the call's tensor maps once (a stratified call launches once per segment with them). */
    Maps encode(String op, DType t, Tensor q, Tensor[] ks, Tensor[] vs) {
        HopperDriver d = be.linalg.wgmma.driver();
        be.ctx.makeCurrent();  // the encode call wants a context on this thread
        byte[][] k = new byte[ks.length][], v = new byte[vs.length][];
        for (int j = 0; j < ks.length; j++) {
            k[j] = d.encode(op, spec(op, t, ks[j]), address(ks[j]));
            v[j] = d.encode(op, spec(op, t, vs[j]), address(vs[j]));
        }
        return new Maps(d.encode(op, spec(op, t, q), address(q)), k, v);
    }

    /**
     * One launch of flash_wgmma_&lt;t&gt;_d64 with {@code params} (CudaAttention.params), whose segment
     * slot i holds segment {@code which[i]}: grid (ceil(Nq / 128), H, B).
     */
    void launch(String op, DType t, byte[] params, Maps m, int[] which, int B, int H, int nq) {
        byte[] maps = new byte[(1 + 2 * CudaAttention.MAX_SEGMENTS) * MAP_BYTES];
        put(maps, 0, m.q());
        for (int slot = 0; slot < which.length; slot++) {
            put(maps, 1 + slot, m.k()[which[slot]]);
            put(maps, 1 + CudaAttention.MAX_SEGMENTS + slot, m.v()[which[slot]]);
        }
        be.ctx.launch(op, be.k.get("attention_sm90", "flash_wgmma_" + CudaTypes.suffix(t) + "_d64"),
                (nq + BLOCK_QUERIES - 1) / BLOCK_QUERIES, H, B, THREADS, SMEM_BYTES, maps, params);
        CudaWgmmaGemm.counted();
    }

    private static void put(byte[] maps, int index, byte[] map) {
        if (map.length != MAP_BYTES) throw new IllegalStateException("a CUtensorMap is " + MAP_BYTES + " bytes, got " + map.length);
        System.arraycopy(map, 0, maps, index * MAP_BYTES, MAP_BYTES);
    }
}
