// Host-emulated check of the tensor-core GEMM and implicit-GEMM conv (gemm.cu, conv.cu; see
// kernels/emu-test.sh) against a double-precision reference on the same rounded inputs: both B
// layouts, both tiles, batches, bias, scaled residual, ragged edges, conv stride and padding.
#include "emu.h"
#include "gemm.cu"
#include "conv.cu"
#include <cstdio>
#include <random>
static std::mt19937 rng(11);
int fails = 0;
template <typename T> std::vector<T> rnd(size_t n) { std::uniform_real_distribution<float> u(-1, 1); std::vector<T> v(n); for (auto& x : v) x = from_f32<T>(u(rng)); return v; }
template <typename T> double relerr(const std::vector<double>& r, const std::vector<T>& g) {
    double n = 0, d = 0; for (size_t i = 0; i < r.size(); i++) { double e = to_f32(g[i]) - r[i]; if (std::isnan(e)) return 1e9; n += e * e; d += r[i] * r[i]; } return std::sqrt(n / (d + 1e-30)); }
void report(const std::string& what, double e, double tol) { printf("%-60s %.2e\n", what.c_str(), e); if (!(e <= tol)) fails++; }
template <typename T> double tol() { return sizeof(T) == 2 && std::is_same_v<T, bf16> ? 8e-3 : 1e-3; }

// C[z] = alpha A[z] B[z] + bias + beta R[z]; B is [N,K] (nt) or [K,N] (nn).
template <typename T, int BM, int BN, int WM, int WN>
void gemm(const char* name, void (*kernel)(GemmArgs), bool nt, int batch, int M, int N, int K) {
    using Cfg = TcConfig<BM, BN, WM, WN, 4, true>;
    auto A = rnd<T>((size_t)batch * M * K), B = rnd<T>((size_t)batch * N * K), R = rnd<T>((size_t)batch * M * N);
    auto bias = rnd<float>(N);
    std::vector<T> C((size_t)batch * M * N, from_f32<T>(NAN));
    float alpha = 0.75f, beta = -0.5f;
    GemmArgs g{A.data(), B.data(), C.data(), bias.data(), R.data(), K, nt ? K : N, N, N,
               (long long)M * K, (long long)N * K, (long long)M * N, (long long)M * N, 0, 0, 0, M, N, K, D_F32, alpha, beta};
    launch(dim3{(unsigned)(N + BN - 1) / BN, (unsigned)(M + BM - 1) / BM, (unsigned)batch}, Cfg::THREADS, [&] { kernel(g); }, Cfg::SMEM_BYTES);
    std::vector<double> ref(C.size());
    for (int z = 0; z < batch; z++) for (int m = 0; m < M; m++) for (int n = 0; n < N; n++) {
        double s = 0;
        for (int k = 0; k < K; k++) s += (double)to_f32(A[((size_t)z * M + m) * K + k]) * to_f32(nt ? B[((size_t)z * N + n) * K + k] : B[((size_t)z * K + k) * N + n]);
        ref[((size_t)z * M + m) * N + n] = alpha * s + bias[n] + beta * to_f32(R[((size_t)z * M + m) * N + n]);
    }
    report(std::string(name) + " batch " + std::to_string(batch) + " " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K), relerr(ref, C), tol<T>());
}

template <typename T, int BM, int BN, int WM, int WN>
void conv(const char* name, void (*kernel)(GemmArgs, ConvArgs), int Bn, int H, int W, int Cin, int Cout, int k, int stride, int pad) {
    using Cfg = TcConfig<BM, BN, WM, WN, 4, true>;
    int Ho = (H + 2 * pad - k) / stride + 1, Wo = (W + 2 * pad - k) / stride + 1, M = Bn * Ho * Wo, K = k * k * Cin;
    auto x = rnd<T>((size_t)Bn * H * W * Cin), w = rnd<T>((size_t)Cout * K), R = rnd<T>((size_t)M * Cout);
    auto bias = rnd<float>(Cout);
    std::vector<T> out((size_t)M * Cout, from_f32<T>(NAN));
    GemmArgs g{x.data(), w.data(), out.data(), bias.data(), R.data(), 0, K, Cout, Cout, 0, 0, 0, 0, 0, 0, 0, M, Cout, K, D_F32, 1.f, 1.f};
    ConvArgs c{Bn, H, W, Cin, Ho, Wo, k, k, stride, stride, pad, pad};
    launch(dim3{(unsigned)(Cout + BN - 1) / BN, (unsigned)(M + BM - 1) / BM, 1}, Cfg::THREADS, [&] { kernel(g, c); }, Cfg::SMEM_BYTES);
    std::vector<double> ref(out.size());
    for (int b = 0; b < Bn; b++) for (int oy = 0; oy < Ho; oy++) for (int ox = 0; ox < Wo; ox++) for (int co = 0; co < Cout; co++) {
        double s = bias[co];
        for (int r = 0; r < k; r++) for (int q = 0; q < k; q++) {
            int iy = oy * stride - pad + r, ix = ox * stride - pad + q;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            for (int ci = 0; ci < Cin; ci++) s += (double)to_f32(x[(((size_t)b * H + iy) * W + ix) * Cin + ci]) * to_f32(w[(size_t)co * K + (r * k + q) * Cin + ci]);
        }
        size_t m = ((size_t)b * Ho + oy) * Wo + ox;
        ref[m * Cout + co] = s + to_f32(R[m * Cout + co]);
    }
    char what[160];
    snprintf(what, sizeof what, "%s %dx%dx%d->%d k%d s%d p%d", name, H, W, Cin, Cout, k, stride, pad);
    report(what, relerr(ref, out), tol<T>());
}

int main() {
    gemm<f16, 64, 64, 32, 32>("gemm_tc_f16_nt_s", gemm_tc_f16_nt_s, true, 2, 100, 72, 88);
    gemm<f16, 64, 64, 32, 32>("gemm_tc_f16_nn_s", gemm_tc_f16_nn_s, false, 2, 100, 72, 88);
    gemm<bf16, 128, 128, 64, 32>("gemm_tc_bf16_nt_l", gemm_tc_bf16_nt_l, true, 1, 150, 136, 200);
    gemm<f16, 128, 128, 64, 32>("gemm_tc_f16_nn_l", gemm_tc_f16_nn_l, false, 1, 130, 264, 72);
    conv<f16, 64, 64, 32, 32>("conv_tc_f16_s", conv_tc_f16_s, 2, 9, 7, 16, 40, 3, 1, 1);
    conv<bf16, 64, 64, 32, 32>("conv_tc_bf16_s", conv_tc_bf16_s, 1, 11, 10, 24, 32, 3, 2, 1);
    conv<f16, 128, 128, 64, 32>("conv_tc_f16_l", conv_tc_f16_l, 1, 12, 12, 32, 136, 1, 1, 0);
    printf(fails ? "%d FAILED\n" : "all ok\n", fails);
    return fails ? 1 : 0;
}
