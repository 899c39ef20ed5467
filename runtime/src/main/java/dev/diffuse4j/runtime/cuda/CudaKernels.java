package dev.diffuse4j.runtime.cuda;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Looks kernels up by module and name, and lists every kernel the backend can launch
 * ({@link #catalog()}), so a test can check the packaged fatbins against it without a GPU.
 */
final class CudaKernels {
    private final CudaContext ctx;

    CudaKernels(CudaContext ctx) { this.ctx = ctx; }

    CudaContext.Kernel get(String module, String name) {
        assert catalog().getOrDefault(module, Set.of()).contains(name) : name + " is missing from CudaKernels.catalog()";
        return ctx.kernel(module, name);
    }

    private static final String[] FLOATS = {"f32", "f16", "bf16"};
    private static final String[] HALVES = {"f16", "bf16"};

    /** Padded head dims of the flash kernels (attention.cu FLASH_ALL). */
    static final int[] FLASH_DIMS = {32, 48, 64, 80, 128, 160};

    /** Module -> names of every kernel this backend launches. */
    static Map<String, Set<String>> catalog() {
        Map<String, Set<String>> m = new TreeMap<>();
        Set<String> ew = set(m, "elementwise");
        for (String s : FLOATS)
            for (String n : new String[]{"unary_", "affine_", "binary_same_", "binary_row_", "binary_bcast_", "geglu_"}) ew.add(n + s);
        Set<String> cp = set(m, "copy");
        for (String e : new String[]{"e1", "e2", "e4", "e8"}) cp.add("copy_strided_" + e);
        for (String e : new String[]{"e2", "e4", "e8"}) cp.add("fill_" + e);
        for (String e : new String[]{"e2", "e4", "e16"}) { cp.add("upsample2x_" + e); cp.add("embedding_" + e); }
        cp.add("cast_strided");
        cp.add("timestep_embedding");
        Set<String> nm = set(m, "norms");
        for (String s : FLOATS)
            for (String n : new String[]{"softmax_", "layer_norm_", "group_norm_stats_", "group_norm_apply_", "channel_stats_"}) nm.add(n + s);
        nm.add("group_norm_finalize");
        nm.add("adain_coefficients");
        Set<String> gm = set(m, "gemm"), cv = set(m, "conv"), at = set(m, "attention");
        for (String s : FLOATS) { gm.add("gemm_simt_" + s); cv.add("conv_simt_" + s); at.add("attn_simt_" + s); at.add("attn_maps_" + s); }
        for (String s : HALVES) {
            for (String t : new String[]{"l", "s", "split"}) {
                gm.add("gemm_tc_" + s + "_nt_" + t);
                gm.add("gemm_tc_" + s + "_nn_" + t);
                cv.add("conv_tc_" + s + "_" + t);
            }
            gm.add("splitk_reduce_" + s);
            for (String t : new String[]{"l", "s"}) gm.add("gemm_tc_" + s + "_nt_" + t + "_geglu");
            for (int d : FLASH_DIMS) at.add("flash_" + s + "_d" + d);
        }
        Set<String> sm90 = set(m, "gemm_sm90");
        Set<String> cv90 = set(m, "conv_sm90");
        Set<String> at90 = set(m, "attention_sm90");
        for (String s : HALVES) {
            at90.add("flash_wgmma_" + s + "_d64");
            sm90.add("gemm_wgmma_" + s + "_nt");
            sm90.add("gemm_wgmma_" + s + "_nt_split");
            sm90.add("gemm_wgmma_" + s + "_nt_geglu");
            cv90.add("conv_wgmma_" + s);
            cv90.add("conv_wgmma_" + s + "_split");
        }
        Set<String> gr = set(m, "grad");
        for (String s : FLOATS)
            for (String n : new String[]{"unary_grad_", "sum_rows_", "sum_cols_", "group_norm_bwd_reduce_", "group_norm_bwd_dx_",
                    "im2col_", "col2im_", "embedding_grad_", "selects_first_"}) gr.add(n + s);
        gr.add("sum_splits");
        gr.add("gn_bwd_group");
        Set<String> ag = set(m, "attention_grad");
        ag.add("attn_bwd_prep");
        ag.add("attn_bwd_dq");
        ag.add("attn_bwd_dkv");
        return m;
    }

    private static Set<String> set(Map<String, Set<String>> m, String module) { return m.computeIfAbsent(module, x -> new TreeSet<>()); }
}
