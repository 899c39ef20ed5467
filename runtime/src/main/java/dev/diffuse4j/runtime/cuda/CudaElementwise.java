package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Shapes;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.BinaryOp;
import dev.diffuse4j.runtime.ops.UnaryOp;

import java.util.Arrays;

import static dev.diffuse4j.runtime.cuda.CudaBackend.address;

/** Unary activations, broadcasting binary ops, affine and GEGLU (elementwise.cu). */
final class CudaElementwise {
    private final CudaBackend be;

    CudaElementwise(CudaBackend be) { this.be = be; }

    Tensor unary(UnaryOp op, Tensor x) {
        CudaTypes.requireFloat("unary " + op, x);
        try (Tensor c = be.contiguousAs(x, x.dtype())) {
            Tensor out = be.alloc("unary " + op, c.dtype(), c.shape());
            long n = c.numel();
            be.ctx.launch("unary " + op, be.k.get("elementwise", "unary_" + CudaTypes.suffix(c.dtype())), be.grid(n / 4 + 1), 1, 1, 256, 0,
                    address(c), address(out), n, op.ordinal());
            return out;
        }
    }

    Tensor affine(Tensor x, float mul, float add) {
        CudaTypes.requireFloat("affine", x);
        try (Tensor c = be.contiguousAs(x, x.dtype())) {
            Tensor out = be.alloc("affine", c.dtype(), c.shape());
            long n = c.numel();
            be.ctx.launch("affine", be.k.get("elementwise", "affine_" + CudaTypes.suffix(c.dtype())), be.grid(n / 4 + 1), 1, 1, 256, 0,
                    address(c), address(out), n, mul, add);
            return out;
        }
    }

    Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        String name = op.name().toLowerCase();
        CudaTypes.requireFloat(name, a);
        CudaTypes.requireFloat(name, b);
        int[] shape = Shapes.broadcast(name, a.shape(), b.shape());
        DType t = DType.promote(a.dtype(), b.dtype());
        String sfx = CudaTypes.suffix(t);
        long n = Shapes.numel(shape);
        try (Tensor ta = be.as(a, t); Tensor tb = be.as(b, t)) {
            Tensor out = be.alloc(name, t, shape);
            if (n == 0) return out;
            boolean aFull = Arrays.equals(ta.shape(), shape) && ta.isContiguous();
            if (aFull && Arrays.equals(tb.shape(), shape) && tb.isContiguous()) {
                be.ctx.launch(name, be.k.get("elementwise", "binary_same_" + sfx), be.grid(n / 4 + 1), 1, 1, 256, 0,
                        address(ta), address(tb), address(out), n, op.ordinal());
            } else if (aFull && tb.isContiguous() && isTrailing(tb.shape(), shape)) {
                be.ctx.launch(name, be.k.get("elementwise", "binary_row_" + sfx), be.grid(n), 1, 1, 256, 0,
                        address(ta), address(tb), address(out), n, tb.numel(), op.ordinal());
            } else {
                byte[] sa = CStruct.strided(shape, Shapes.broadcastStrides(ta.shape(), ta.strides(), shape));
                byte[] sb = CStruct.strided(shape, Shapes.broadcastStrides(tb.shape(), tb.strides(), shape));
                be.ctx.launch(name, be.k.get("elementwise", "binary_bcast_" + sfx), be.grid(n), 1, 1, 256, 0,
                        address(ta), sa, address(tb), sb, address(out), n, op.ordinal());
            }
            return out;
        }
    }

    /** True when {@code small}, leading 1s aside, equals the trailing dims of {@code full} (a row broadcast). */
    private static boolean isTrailing(int[] small, int[] full) {
        int i = 0;
        while (i < small.length && small[i] == 1) i++;
        int k = small.length - i;
        if (k == 0 || k > full.length) return k == 0;
        for (int j = 0; j < k; j++) if (small[i + j] != full[full.length - k + j]) return false;
        return true;
    }

    Tensor geglu(Tensor x) {
        CudaTypes.requireFloat("geglu", x);
        int last = x.dim(-1);
        if (last % 2 != 0) throw new IllegalArgumentException("geglu: last dimension must be even, got " + x.describe());
        try (Tensor c = be.contiguousAs(x, x.dtype())) {
            int[] shape = c.shape();
            shape[shape.length - 1] = last / 2;
            Tensor out = be.alloc("geglu", c.dtype(), shape);
            long rows = Shapes.rows(c.shape());
            be.ctx.launch("geglu", be.k.get("elementwise", "geglu_" + CudaTypes.suffix(c.dtype())), be.grid(rows * (last / 2)), 1, 1, 256, 0,
                    address(c), address(out), rows, (long) (last / 2));
            return out;
        }
    }
}
