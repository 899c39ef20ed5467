package dev.diffuse4j.runtime.autograd;

import dev.diffuse4j.runtime.ops.BinaryOp;
import dev.diffuse4j.runtime.ops.Conv2dParams;
import dev.diffuse4j.runtime.ops.UnaryOp;

import java.util.Arrays;
import java.util.List;

/** Float64 reference forwards written from the ops' definitions with naive loops (independent of the runtime). */
final class RefOps {
    private RefOps() {}

    static Nd matmul(Nd a, Nd b, boolean ta, boolean tb) {
        int ra = a.rank(), rb = b.rank();
        int m = ta ? a.dim(-1) : a.dim(-2), k = ta ? a.dim(-2) : a.dim(-1), n = tb ? b.dim(-2) : b.dim(-1);
        int[] batch = Nd.broadcast(Arrays.copyOf(a.shape(), ra - 2), Arrays.copyOf(b.shape(), rb - 2));
        int[] os = Arrays.copyOf(batch, batch.length + 2);
        os[batch.length] = m;
        os[batch.length + 1] = n;
        Nd out = Nd.zeros(os);
        int nb = Nd.numel(batch);
        for (int bi = 0; bi < nb; bi++) {
            int[] bc = new Nd(batch, null).coords(bi);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += at(a, bc, ta ? p : i, ta ? i : p) * at(b, bc, tb ? j : p, tb ? p : j);
                    int[] oc = Arrays.copyOf(bc, bc.length + 2);
                    oc[bc.length] = i;
                    oc[bc.length + 1] = j;
                    out.set(s, oc);
                }
        }
        return out;
    }

    /** Element (r, c) of the matrix of a at broadcast batch coordinate bc. */
    private static double at(Nd a, int[] bc, int r, int c) {
        int[] idx = new int[a.rank()];
        int lead = bc.length - (a.rank() - 2);
        for (int d = 0; d < a.rank() - 2; d++) idx[d] = a.shape()[d] == 1 ? 0 : bc[lead + d];
        idx[a.rank() - 2] = r;
        idx[a.rank() - 1] = c;
        return a.get(idx);
    }

    static Nd linear(Nd x, Nd w, Nd b) {
        int out = w.dim(0), in = w.dim(1), rows = x.v().length / in;
        int[] os = x.shape().clone();
        os[os.length - 1] = out;
        Nd y = Nd.zeros(os);
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b.v()[o];
                for (int i = 0; i < in; i++) s += x.v()[r * in + i] * w.v()[o * in + i];
                y.v()[r * out + o] = s;
            }
        return y;
    }

    static Nd conv2d(Nd x, Nd w, Nd b, Conv2dParams p, Nd res) {
        int bn = x.dim(0), h = x.dim(1), wd = x.dim(2), cin = x.dim(3), cout = w.dim(0), kh = w.dim(1), kw = w.dim(2);
        int ho = (h + p.padTop() + p.padBottom() - kh) / p.strideH() + 1, wo = (wd + p.padLeft() + p.padRight() - kw) / p.strideW() + 1;
        Nd y = Nd.zeros(bn, ho, wo, cout);
        for (int n = 0; n < bn; n++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int co = 0; co < cout; co++) {
                        double s = b == null ? 0 : b.v()[co];
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++) {
                                int iy = oy * p.strideH() - p.padTop() + ky, ix = ox * p.strideW() - p.padLeft() + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                for (int ci = 0; ci < cin; ci++) s += x.get(n, iy, ix, ci) * w.get(co, ky, kx, ci);
                            }
                        if (res != null) s += res.get(n, oy, ox, co);
                        y.set(s, n, oy, ox, co);
                    }
        return y;
    }

    static Nd groupNorm(Nd x, int groups, Nd gamma, Nd beta, double eps, boolean silu) {
        int bn = x.dim(0), c = x.dim(-1), pos = x.v().length / (bn * c), cg = c / groups;
        Nd y = Nd.zeros(x.shape());
        for (int n = 0; n < bn; n++)
            for (int g = 0; g < groups; g++) {
                double mean = 0, var = 0;
                for (int p = 0; p < pos; p++) for (int j = 0; j < cg; j++) mean += x.v()[(n * pos + p) * c + g * cg + j];
                mean /= pos * cg;
                for (int p = 0; p < pos; p++)
                    for (int j = 0; j < cg; j++) { double d = x.v()[(n * pos + p) * c + g * cg + j] - mean; var += d * d; }
                var /= pos * cg;
                for (int p = 0; p < pos; p++)
                    for (int j = 0; j < cg; j++) {
                        int i = (n * pos + p) * c + g * cg + j, ch = g * cg + j;
                        double v = (x.v()[i] - mean) / Math.sqrt(var + eps);
                        v = v * (gamma == null ? 1 : gamma.v()[ch]) + (beta == null ? 0 : beta.v()[ch]);
                        y.v()[i] = silu ? v / (1 + Math.exp(-v)) : v;
                    }
            }
        return y;
    }

    static Nd layerNorm(Nd x, Nd gamma, Nd beta, double eps) {
        int c = x.dim(-1);
        return new Nd(x.shape(), groupNorm(new Nd(new int[]{x.v().length / c, 1, c}, x.v()), 1, gamma, beta, eps, false).v());
    }

    static Nd softmax(Nd x) {
        int c = x.dim(-1);
        Nd y = Nd.zeros(x.shape());
        for (int r = 0; r < x.v().length / c; r++) {
            double m = Double.NEGATIVE_INFINITY, s = 0;
            for (int j = 0; j < c; j++) m = Math.max(m, x.v()[r * c + j]);
            for (int j = 0; j < c; j++) s += Math.exp(x.v()[r * c + j] - m);
            for (int j = 0; j < c; j++) y.v()[r * c + j] = Math.exp(x.v()[r * c + j] - m) / s;
        }
        return y;
    }

    static double unary(UnaryOp op, double x) {
        return switch (op) {
            case SILU -> x / (1 + Math.exp(-x));
            case GELU_ERF -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case QUICK_GELU -> x / (1 + Math.exp(-1.702 * x));
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case EXP -> Math.exp(x);
            case NEG -> -x;
            case SQRT -> Math.sqrt(x);
            case SQUARE -> x * x;
        };
    }

    /** erf by its Maclaurin series (|x| small in these tests). */
    static double erf(double x) {
        double term = x, sum = x;
        for (int n = 1; n < 200; n++) {
            term *= -x * x / n;
            sum += term / (2 * n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }

    static Nd unary(UnaryOp op, Nd x) {
        Nd y = Nd.zeros(x.shape());
        for (int i = 0; i < y.v().length; i++) y.v()[i] = unary(op, x.v()[i]);
        return y;
    }

    static Nd binary(BinaryOp op, Nd a, Nd b) {
        Nd y = Nd.zeros(Nd.broadcast(a.shape(), b.shape()));
        for (int i = 0; i < y.v().length; i++) {
            int[] c = y.coords(i);
            double p = a.bget(c), q = b.bget(c);
            y.v()[i] = switch (op) {
                case ADD -> p + q;
                case SUB -> p - q;
                case MUL -> p * q;
                case DIV -> p / q;
                case MAX -> Math.max(p, q);
                case MIN -> Math.min(p, q);
            };
        }
        return y;
    }

    static Nd affine(Nd x, double mul, double add) {
        Nd y = Nd.zeros(x.shape());
        for (int i = 0; i < y.v().length; i++) y.v()[i] = x.v()[i] * mul + add;
        return y;
    }

    static Nd geglu(Nd x) {
        int c2 = x.dim(-1), n = c2 / 2;
        int[] os = x.shape().clone();
        os[os.length - 1] = n;
        Nd y = Nd.zeros(os);
        for (int r = 0; r < x.v().length / c2; r++)
            for (int j = 0; j < n; j++) y.v()[r * n + j] = x.v()[r * c2 + j] * unary(UnaryOp.GELU_ERF, x.v()[r * c2 + n + j]);
        return y;
    }

    static Nd concat(List<Nd> xs, int dim) {
        int[] os = xs.get(0).shape().clone();
        int axis = dim < 0 ? dim + os.length : dim;
        os[axis] = 0;
        for (Nd x : xs) os[axis] += x.dim(axis);
        Nd y = Nd.zeros(os);
        for (int i = 0; i < y.v().length; i++) {
            int[] c = y.coords(i);
            int k = 0, at = c[axis];
            while (at >= xs.get(k).dim(axis)) at -= xs.get(k++).dim(axis);
            c[axis] = at;
            y.v()[i] = xs.get(k).get(c);
        }
        return y;
    }

    static Nd upsample2x(Nd x) {
        Nd y = Nd.zeros(x.dim(0), 2 * x.dim(1), 2 * x.dim(2), x.dim(3));
        for (int i = 0; i < y.v().length; i++) {
            int[] c = y.coords(i);
            y.v()[i] = x.get(c[0], c[1] / 2, c[2] / 2, c[3]);
        }
        return y;
    }

    static Nd embedding(Nd table, int[] ids) {
        int d = table.dim(1);
        Nd y = Nd.zeros(ids.length, d);
        for (int t = 0; t < ids.length; t++) for (int j = 0; j < d; j++) y.v()[t * d + j] = table.get(ids[t], j);
        return y;
    }

    static Nd permute(Nd x, int... order) {
        int[] os = new int[order.length];
        for (int i = 0; i < order.length; i++) os[i] = x.shape()[order[i]];
        Nd y = Nd.zeros(os);
        for (int i = 0; i < y.v().length; i++) {
            int[] c = y.coords(i), src = new int[c.length];
            for (int d = 0; d < c.length; d++) src[order[d]] = c[d];
            y.v()[i] = x.get(src);
        }
        return y;
    }

    static Nd slice(Nd x, int dim, int start, int end) {
        int[] os = x.shape().clone();
        os[dim] = end - start;
        Nd y = Nd.zeros(os);
        for (int i = 0; i < y.v().length; i++) {
            int[] c = y.coords(i);
            c[dim] += start;
            y.v()[i] = x.get(c);
        }
        return y;
    }

    static Nd select(Nd x, int dim, int index) {
        Nd s = slice(x, dim, index, index + 1);
        int[] os = new int[x.rank() - 1];
        for (int d = 0, j = 0; d < x.rank(); d++) if (d != dim) os[j++] = x.shape()[d];
        return new Nd(os, s.v());
    }

    static Nd reshape(Nd x, int... shape) { return new Nd(shape, x.v()); }

    /**
     * Multi-head attention softmax(q k^T / sqrt(D)) v per head (k/v rows broadcast when they have one item);
     * returns the output [B, Nq, H*D] followed by the head-averaged probabilities [B, Nq, Nk], both flattened per item.
     */
    static Nd attentionOutAndMaps(Nd q, Nd k, Nd v, int heads) {
        int b = q.dim(0), nq = q.dim(1), c = q.dim(2), nk = k.dim(1), d = c / heads;
        Nd out = Nd.zeros(b, nq * c + nq * nk);
        for (int n = 0; n < b; n++) {
            int kn = k.dim(0) == 1 ? 0 : n;
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < nq; i++) {
                    double[] p = new double[nk];
                    double m = Double.NEGATIVE_INFINITY, s = 0;
                    for (int j = 0; j < nk; j++) {
                        double dot = 0;
                        for (int e = 0; e < d; e++) dot += q.get(n, i, h * d + e) * k.get(kn, j, h * d + e);
                        p[j] = dot / Math.sqrt(d);
                        m = Math.max(m, p[j]);
                    }
                    for (int j = 0; j < nk; j++) { p[j] = Math.exp(p[j] - m); s += p[j]; }
                    for (int j = 0; j < nk; j++) {
                        p[j] /= s;
                        out.v()[n * (nq * c + nq * nk) + nq * c + i * nk + j] += p[j] / heads;
                        for (int e = 0; e < d; e++) out.v()[n * (nq * c + nq * nk) + i * c + h * d + e] += p[j] * v.get(kn, j, h * d + e);
                    }
                }
        }
        return out;
    }
}
