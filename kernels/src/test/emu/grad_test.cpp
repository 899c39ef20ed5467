// Host-emulated check of grad.cu (see kernels/emu-test.sh): every reverse-mode primitive against a naive
// double-precision reference (unary derivatives against central differences of the forward formulas).
#include "emu.h"
#include "grad.cu"
#include <cstdio>
#include <random>
static std::mt19937 rng(7);
static std::vector<float> rnd(size_t n, float lo = -1, float hi = 1) { std::uniform_real_distribution<float> u(lo, hi); std::vector<float> v(n); for (auto& x : v) x = u(rng); return v; }
static double relerr(const std::vector<double>& r, const std::vector<float>& g) { double n = 0, d = 0; for (size_t i = 0; i < r.size(); i++) { double e = g[i] - r[i]; if (std::isnan(e)) return 1e9; n += e * e; d += r[i] * r[i]; } return std::sqrt(n / (d + 1e-30)); }
int fails = 0;
void report(const char* what, double e, double tol = 1e-5) { printf("%-50s %.2e\n", what, e); if (!(e <= tol)) fails++; }
Strided mk(std::vector<long long> shape, std::vector<long long> stride) { Strided s; std::memset(&s, 0, sizeof s); s.rank = shape.size();
    for (int i = 0; i < 8; i++) { s.shape[i] = i < (int)shape.size() ? shape[i] : 1; s.stride[i] = i < (int)stride.size() ? stride[i] : 0; } return s; }

// sum over x [A, Bd, Cd] contiguous with given kept/red decomposition, via both kernels and splits
void sums() {
    int A = 37, Bd = 5, Cd = 70;  // x[a][b][c], strides 350, 70, 1
    auto x = rnd((size_t)A * Bd * Cd);
    // keep c (cols kernel), reduce a,b
    { std::vector<double> ref(Cd, 0); for (int a = 0; a < A; a++) for (int b = 0; b < Bd; b++) for (int c = 0; c < Cd; c++) ref[c] += x[(a * Bd + b) * Cd + c];
      for (int splits : {1, 3}) { std::vector<float> part((size_t)Cd * splits, NAN), out(Cd, NAN);
        Strided k = mk({Cd}, {1}), r = mk({(long long)A * Bd}, {Cd});
        launch(dim3{(unsigned)(Cd + 31) / 32, (unsigned)splits, 1}, 256, [&] { sum_cols_f32(x.data(), k, r, Cd, (long long)A * Bd, splits > 1 ? part.data() : out.data(), splits); });
        if (splits > 1) launch(dim3{2, 1, 1}, 256, [&] { sum_splits(part.data(), out.data(), Cd, splits); });
        report(splits > 1 ? "sum_cols keep c, splits 3" : "sum_cols keep c", relerr(ref, out)); } }
    // keep a,b (rows kernel), reduce c
    { std::vector<double> ref((size_t)A * Bd, 0); for (int a = 0; a < A; a++) for (int b = 0; b < Bd; b++) for (int c = 0; c < Cd; c++) ref[a * Bd + b] += x[(a * Bd + b) * Cd + c];
      for (int splits : {1, 4}) { long long n = (long long)A * Bd; std::vector<float> part(n * splits, NAN), out(n, NAN);
        Strided k = mk({n}, {Cd}), r = mk({Cd}, {1});
        launch(dim3{5, (unsigned)splits, 1}, 256, [&] { sum_rows_f32(x.data(), k, r, n, Cd, splits > 1 ? part.data() : out.data(), splits); });
        if (splits > 1) launch(dim3{2, 1, 1}, 256, [&] { sum_splits(part.data(), out.data(), n, splits); });
        report(splits > 1 ? "sum_rows keep ab, splits 4 (grid-stride)" : "sum_rows keep ab", relerr(ref, out)); } }
    // keep b (stride 70, rows kernel), reduce a and c (two reduced dims)
    { std::vector<double> ref(Bd, 0); for (int a = 0; a < A; a++) for (int b = 0; b < Bd; b++) for (int c = 0; c < Cd; c++) ref[b] += x[(a * Bd + b) * Cd + c];
      std::vector<float> out(Bd, NAN); Strided k = mk({Bd}, {Cd}), r = mk({A, Cd}, {(long long)Bd * Cd, 1});
      launch(dim3{1, 1, 1}, 256, [&] { sum_rows_f32(x.data(), k, r, Bd, (long long)A * Cd, out.data(), 1); });
      report("sum_rows keep b, reduce a,c", relerr(ref, out)); }
    // full sum, rank-0 kept
    { std::vector<double> ref(1, 0); for (float v : x) ref[0] += v; std::vector<float> part(7, NAN), out(1, NAN);
      Strided k = mk({}, {}), r = mk({(long long)x.size()}, {1});
      launch(dim3{1, 7, 1}, 256, [&] { sum_rows_f32(x.data(), k, r, 1, (long long)x.size(), part.data(), 7); });
      launch(dim3{1, 1, 1}, 256, [&] { sum_splits(part.data(), out.data(), 1, 7); });
      report("full sum, 7 splits", relerr(ref, out)); }
}

void groupnorm(int B, int P, int C, int G, bool silu, bool affine) {
    int Cg = C / G; size_t n = (size_t)B * P * C;
    auto x = rnd(n, -2, 3), dy = rnd(n); auto gamma = rnd(C, 0.5, 1.5), beta = rnd(C);
    float eps = 1e-5f;
    std::vector<float> stats((size_t)B * G * 2);
    std::vector<double> rdx(n), rdg(C, 0), rdb(C, 0);
    for (int b = 0; b < B; b++) for (int g = 0; g < G; g++) {
        double s = 0, ss = 0, N = (double)P * Cg;
        for (int p = 0; p < P; p++) for (int j = 0; j < Cg; j++) s += x[((size_t)b * P + p) * C + g * Cg + j];
        double mean = s / N; for (int p = 0; p < P; p++) for (int j = 0; j < Cg; j++) { double d = x[((size_t)b * P + p) * C + g * Cg + j] - mean; ss += d * d; }
        double rstd = 1 / std::sqrt(ss / N + eps); stats[2 * (b * G + g)] = mean; stats[2 * (b * G + g) + 1] = rstd;
        double sg = 0, sgx = 0; std::vector<double> xh(P * Cg), dp(P * Cg);
        for (int p = 0; p < P; p++) for (int j = 0; j < Cg; j++) { size_t i = ((size_t)b * P + p) * C + g * Cg + j; int c = g * Cg + j;
            double ga = affine ? gamma[c] : 1, be = affine ? beta[c] : 0, h = (x[i] - mean) * rstd, d = dy[i];
            if (silu) { double y = ga * h + be, sgm = 1 / (1 + std::exp(-y)); d *= sgm * (1 + y * (1 - sgm)); }
            xh[p * Cg + j] = h; dp[p * Cg + j] = d; rdg[c] += d * h; rdb[c] += d; sg += d * ga; sgx += d * ga * h; }
        for (int p = 0; p < P; p++) for (int j = 0; j < Cg; j++) { size_t i = ((size_t)b * P + p) * C + g * Cg + j; int c = g * Cg + j; double ga = affine ? gamma[c] : 1;
            rdx[i] = rstd * (dp[p * Cg + j] * ga - sg / N - xh[p * Cg + j] * sgx / N); }
    }
    int splits = std::max(1, std::min(std::min(64, P), (P * C + 16383) / 16384)); if (P > 3) splits = std::max(splits, 3);
    std::vector<float> pdg((size_t)B * splits * C, NAN), pdb = pdg, dgi((size_t)B * C, NAN), dbi = dgi, coef((size_t)B * G * 2, NAN), dgam(C, NAN), dbet(C, NAN), dx(n, NAN);
    const void* gp = affine ? gamma.data() : nullptr; const void* bp = affine ? beta.data() : nullptr; int gc = affine ? 0 : -1;
    launch(dim3{(unsigned)B, (unsigned)splits, 1}, 256, [&] { group_norm_bwd_reduce_f32(x.data(), dy.data(), stats.data(), P, C, G, gp, gc, bp, gc, silu, pdg.data(), pdb.data()); });
    launch(dim3{2, 1, 1}, 256, [&] { gn_bwd_group(pdg.data(), pdb.data(), B, C, G, splits, P, gp, gc, dgi.data(), dbi.data(), coef.data()); });
    for (int c = 0; c < C; c++) { float tg = 0, tb = 0; for (int b = 0; b < B; b++) { tg += dgi[(size_t)b * C + c]; tb += dbi[(size_t)b * C + c]; } dgam[c] = tg; dbet[c] = tb; }  // the host's sumToShape
    launch(dim3{3, 1, 1}, 256, [&] { group_norm_bwd_dx_f32(x.data(), dy.data(), stats.data(), coef.data(), P, C, G, gp, gc, bp, gc, silu, dx.data(), (long long)n); });
    char name[128]; snprintf(name, sizeof name, "groupnorm B%d P%d C%d G%d silu%d affine%d splits%d", B, P, C, G, silu, affine, splits);
    report((std::string(name) + " dx").c_str(), relerr(rdx, dx), 1e-5);
    report((std::string(name) + " dgamma").c_str(), relerr(rdg, dgam)); report((std::string(name) + " dbeta").c_str(), relerr(rdb, dbet));
}

void patches(int B, int H, int W, int C, int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr) {
    int Ho = (H + pt + pb - kh) / sh + 1, Wo = (W + pl + pr - kw) / sw + 1; long long K = (long long)kh * kw * C;
    auto x = rnd((size_t)B * H * W * C); ConvGeom g{H, W, C, Ho, Wo, kh, kw, sh, sw, pt, pl, 0};
    long long ncol = (long long)B * Ho * Wo * K; std::vector<double> rc(ncol, 0); std::vector<float> cols(ncol, NAN);
    for (int b = 0; b < B; b++) for (int oy = 0; oy < Ho; oy++) for (int ox = 0; ox < Wo; ox++) for (int ky = 0; ky < kh; ky++) for (int kx = 0; kx < kw; kx++) {
        int iy = oy * sh - pt + ky, ix = ox * sw - pl + kx; if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
        for (int c = 0; c < C; c++) rc[(((long long)b * Ho + oy) * Wo + ox) * K + (ky * kw + kx) * C + c] = x[(((size_t)b * H + iy) * W + ix) * C + c]; }
    launch(dim3{3, 1, 1}, 256, [&] { im2col_f32(x.data(), cols.data(), g, ncol); });
    report("im2col", relerr(rc, cols), 0);
    auto cin = rnd(ncol); std::vector<double> rdx((size_t)B * H * W * C, 0); std::vector<float> dx(rdx.size(), NAN);
    for (int b = 0; b < B; b++) for (int oy = 0; oy < Ho; oy++) for (int ox = 0; ox < Wo; ox++) for (int ky = 0; ky < kh; ky++) for (int kx = 0; kx < kw; kx++) {
        int iy = oy * sh - pt + ky, ix = ox * sw - pl + kx; if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
        for (int c = 0; c < C; c++) rdx[(((size_t)b * H + iy) * W + ix) * C + c] += cin[(((long long)b * Ho + oy) * Wo + ox) * K + (ky * kw + kx) * C + c]; }
    launch(dim3{3, 1, 1}, 256, [&] { col2im_f32(cin.data(), dx.data(), g, (long long)dx.size()); });
    report("col2im (scatter-add reference)", relerr(rdx, dx));
}

void misc() {
    // embedding grad with CSR built as in CudaGrad
    int rows = 20, D = 13, n = 33; std::vector<int> id(n); for (auto& v : id) v = rng() % rows; id[0] = id[5] = id[32] = 7;
    auto dy = rnd((size_t)n * D); std::vector<double> ref((size_t)rows * D, 0); for (int t = 0; t < n; t++) for (int d = 0; d < D; d++) ref[(size_t)id[t] * D + d] += dy[(size_t)t * D + d];
    std::vector<int> off(rows + 1, 0), order(n); for (int r : id) off[r + 1]++; for (int r = 0; r < rows; r++) off[r + 1] += off[r];
    std::vector<int> next(off.begin(), off.end() - 1); for (int t = 0; t < n; t++) order[next[id[t]]++] = t;
    std::vector<float> out((size_t)rows * D, NAN);
    launch(dim3{2, 1, 1}, 256, [&] { embedding_grad_f32(dy.data(), off.data(), order.data(), out.data(), rows, D); });
    report("embedding_grad", relerr(ref, out));
    // selects_first: a [4,1,6] vs b [5,1] -> [4,5,6]
    std::vector<float> a(24), b(5); for (auto& v : a) v = (float)(rng() % 3); for (auto& v : b) v = (float)(rng() % 3);
    for (int op : {4, 5}) { std::vector<double> r(120); std::vector<float> o(120, NAN);
        for (int i = 0; i < 4; i++) for (int j = 0; j < 5; j++) for (int k = 0; k < 6; k++) { float va = a[i * 6 + k], vb = b[j]; r[(i * 5 + j) * 6 + k] = (op == 4 ? va >= vb : va <= vb) ? 1 : 0; }
        Strided sa = mk({4, 5, 6}, {6, 0, 1}), sb = mk({4, 5, 6}, {0, 1, 0});
        launch(dim3{1, 1, 1}, 256, [&] { selects_first_f32(a.data(), sa, b.data(), sb, o.data(), 120, op); });
        report(op == 4 ? "selects_first MAX" : "selects_first MIN", relerr(r, o), 0); }
    // unary grads against central differences of the forward formulas in double
    auto f = [](int op, double x) -> double { switch (op) { case 0: return x / (1 + std::exp(-x)); case 1: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
        case 2: return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); case 3: return x / (1 + std::exp(-1.702 * x));
        case 4: return 1 / (1 + std::exp(-x)); case 5: return std::exp(x); case 6: return -x; case 7: return std::sqrt(x); default: return x * x; } };
    for (int op = 0; op < 9; op++) { auto x = rnd(301, op == 7 ? 0.1f : -5.f, 5.f), d = rnd(301); std::vector<double> r(301); std::vector<float> o(301, NAN);
        for (int i = 0; i < 301; i++) { double h = 1e-5; r[i] = d[i] * (f(op, x[i] + h) - f(op, x[i] - h)) / (2 * h); }
        launch(dim3{1, 1, 1}, 256, [&] { unary_grad_f32(x.data(), d.data(), o.data(), 301, op); });
        char nm[64]; snprintf(nm, sizeof nm, "unary_grad op %d vs central difference", op); report(nm, relerr(r, o), 1e-5); }
}

int main() {
    sums();
    groupnorm(2, 35, 32, 8, false, true); groupnorm(2, 35, 32, 8, true, true); groupnorm(3, 12, 6, 3, true, false);
    groupnorm(1, 9, 320, 32, true, true); groupnorm(37, 1, 48, 1, false, true);
    patches(2, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1); patches(2, 7, 9, 5, 3, 3, 2, 2, 1, 1, 1, 1); patches(1, 6, 5, 3, 3, 3, 1, 2, 1, 0, 2, 1); patches(1, 6, 6, 4, 2, 2, 2, 2, 0, 0, 0, 0);
    misc();
    printf(fails ? "FAILURES: %d\n" : "all ok\n", fails);
    return fails != 0;
}
