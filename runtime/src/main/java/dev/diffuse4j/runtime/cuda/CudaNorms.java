package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Shapes;
import dev.diffuse4j.runtime.Tensor;

import static dev.diffuse4j.runtime.cuda.CudaBackend.address;

/** GroupNorm (+SiLU), LayerNorm and softmax (norms.cu). */
final class CudaNorms {
    private final CudaBackend be;

    CudaNorms(CudaBackend be) { this.be = be; }

    Tensor softmax(Tensor x) {
        CudaTypes.requireFloat("softmax", x);
        int n = x.dim(-1);
        try (Tensor c = be.contiguousAs(x, x.dtype())) {
            Tensor out = be.alloc("softmax", c.dtype(), c.shape());
            long rows = Shapes.rows(c.shape());
            be.ctx.launch("softmax", be.k.get("norms", "softmax_" + CudaTypes.suffix(c.dtype())), gridRows("softmax", rows), 1, 1,
                    rowThreads(n), 0, address(c), address(out), n);
            return out;
        }
    }

    Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        CudaTypes.requireFloat("layerNorm", x);
        int n = x.dim(-1);
        checkParam("layerNorm", gamma, n, x);
        checkParam("layerNorm", beta, n, x);
        try (Tensor c = be.contiguousAs(x, x.dtype()); Tensor g = param(gamma); Tensor b = param(beta)) {
            Tensor out = be.alloc("layerNorm", c.dtype(), c.shape());
            long rows = Shapes.rows(c.shape());
            be.ctx.launch("layerNorm", be.k.get("norms", "layer_norm_" + CudaTypes.suffix(c.dtype())), gridRows("layerNorm", rows), 1, 1,
                    rowThreads(n), 0, address(c), address(out), n, CudaTypes.addressOrNull(g), code(g), CudaTypes.addressOrNull(b), code(b), eps);
            return out;
        }
    }

    Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        String op = silu ? "groupNorm+silu" : "groupNorm";
        CudaTypes.requireFloat(op, x);
        if (x.rank() < 2) throw new IllegalArgumentException(op + ": expects [B, ..., C], got " + x.describe());
        int B = x.dim(0), C = x.dim(-1);
        if (groups <= 0 || C % groups != 0)
            throw new IllegalArgumentException(op + ": " + C + " channels do not split into " + groups + " groups (" + x.describe() + ")");
        checkParam(op, gamma, C, x);
        checkParam(op, beta, C, x);
        long P = x.numel() / Math.max(1L, (long) B * C);
        if (P > Integer.MAX_VALUE) throw new IllegalArgumentException(op + ": too many positions in " + x.describe());
        int G = groups, Cg = C / G;
        long perGroup = P * Cg;
        int splits = (int) Math.max(1, Math.min(64, (perGroup + 8191) / 8192));
        try (Tensor c = be.contiguousAs(x, x.dtype()); Tensor g = param(gamma); Tensor bt = param(beta);
             Tensor partial = be.alloc(op, DType.F32, B * G * splits * 3);
             Tensor stats = be.alloc(op, DType.F32, B * G * 2)) {
            String s = CudaTypes.suffix(c.dtype());
            Tensor out = be.alloc(op, c.dtype(), c.shape());
            if (c.numel() == 0) return out;
            be.ctx.launch(op, be.k.get("norms", "group_norm_stats_" + s), B * G, splits, 1, 256, 0,
                    address(c), address(partial), (int) P, C, G);
            be.ctx.launch(op, be.k.get("norms", "group_norm_finalize"), (B * G + 127) / 128, 1, 1, 128, 0,
                    address(partial), address(stats), B * G, splits, eps);
            long perItem = P * C;
            int gx = (int) Math.max(1, Math.min((perItem + 255) / 256, Math.max(1, 8L * be.ctx.smCount / Math.max(1, B))));
            be.ctx.launch(op, be.k.get("norms", "group_norm_apply_" + s), gx, B, 1, 256, 2 * C * 4,
                    address(c), address(out), address(stats), P, C, G,
                    CudaTypes.addressOrNull(g), code(g), CudaTypes.addressOrNull(bt), code(bt), silu ? 1 : 0);
            return out;
        }
    }

    private static void checkParam(String op, Tensor p, int n, Tensor x) {
        if (p != null && p.numel() != n)
            throw new IllegalArgumentException(op + ": affine parameter " + p.describe() + " does not match " + n + " channels of " + x.describe());
    }

    /** Gamma/beta on the device and contiguous, any float dtype (the kernels read it by code); null stays null. */
    private Tensor param(Tensor p) {
        if (p == null) return null;
        be.requireHere(p);
        CudaTypes.requireFloat("norm parameter", p);
        return p.isContiguous() ? p.share() : be.contiguous(p);
    }

    private static int code(Tensor t) { return t == null ? -1 : CudaTypes.code(t.dtype()); }

    private static int rowThreads(int n) { return n >= 2048 ? 512 : n >= 512 ? 256 : 128; }

    private static int gridRows(String op, long rows) {
        if (rows > Integer.MAX_VALUE) throw new IllegalArgumentException(op + ": " + rows + " rows exceed one launch");
        return (int) Math.max(rows, 0);
    }
}
