// Host-emulated check of the Hopper GEMM (gemm_sm90.cu: TMA + mbarrier ring + wgmma, emulated by
// emu_sm90.h) and of the Hopper conv (conv_sm90.cu: the same block with a cp.async gather for A)
// against double-precision references on the same rounded inputs. Tensor maps are
// encoded as CudaWgmmaGemm / TensorMapSpec.kMajor encode them; the launch follows the kernel's
// host contract. Ragged M, N and K (zero-filled TMA boxes), several laps of the stage ring, batches,
// broadcast operands, padded rows, bias, scaled residual, alpha, both copy-landing orders and a
// dynamic shared-memory base that is not 1024-byte aligned. Convs: 3x3 with padding, stride 2 with
// one-sided padding, 1x1, several channel blocks per tap, partial M and N tiles, bias and residual.
#include "emu.h"
#include "gemm_sm90.cu"
#include "conv_sm90.cu"
#include "sm90_test.h"

struct Case {
    int batch, M, N, K;
    bool broadcastA = false, broadcastB = false;
    int padA = 0, padB = 0;  // extra elements per row of A / B (row strides K + pad), NaN: TMA must not read them
    bool bias = true, residual = true;
    float alpha = 1.f, beta = 1.f;
    bool eager = false;      // TMA copies land at issue instead of when their mbarrier is waited on
    bool reverse = false;    // emu schedules the threads last to first (the producer warp between consumer steps)
    uint32_t smemOffset = 0; // dynamic shared memory base this far past a 1024-byte boundary
    int splits = 1, per = 0; // split-K: the _split kernel, `per` K tiles of 64 per split
};

template <typename T> auto gemm_split_kernel() { if constexpr (std::is_same_v<T, f16>) return gemm_wgmma_f16_nt_split; else return gemm_wgmma_bf16_nt_split; }
template <typename T> auto conv_split_kernel() { if constexpr (std::is_same_v<T, f16>) return conv_wgmma_f16_split; else return conv_wgmma_bf16_split; }

// What splitk_reduce (gemm.cu) makes of the split kernels' F32 partials: out[z] = alpha * sum of the
// splits + bias + beta * R[z], rounded to T.
template <typename T>
void reduce_splits(const std::vector<float>& ws, int batch, int splits, int M, int N, float alpha, const float* bias, const T* R, float beta, T* out) {
    const size_t mn = (size_t)M * N;
    for (int z = 0; z < batch; z++) for (size_t i = 0; i < mn; i++) {
        float sum = 0.f;
        for (int s = 0; s < splits; s++) sum += ws[((size_t)z * splits + s) * mn + i];
        float v = alpha * sum + (bias ? bias[i % N] : 0.f) + (R ? beta * to_f32(R[z * mn + i]) : 0.f);
        out[z * mn + i] = from_f32<T>(v);
    }
}

// C[z] = alpha A[zA] B[zB]^T + bias + beta R[z]; A [M, K] (row stride K + padA), B [N, K] (K + padB).
template <typename T>
void gemm(const char* name, void (*kernel)(CUtensorMap, CUtensorMap, WgmmaEpilogue), const Case& c) {
    const int bA = c.broadcastA ? 1 : c.batch, bB = c.broadcastB ? 1 : c.batch, lda = c.K + c.padA, ldb = c.K + c.padB;
    auto A = rnd<T>((size_t)bA * c.M * lda), B = rnd<T>((size_t)bB * c.N * ldb), R = rnd<T>((size_t)c.batch * c.M * c.N);
    for (size_t i = 0; i < A.size(); i++) if ((int)(i % lda) >= c.K) A[i] = from_f32<T>(NAN);
    for (size_t i = 0; i < B.size(); i++) if ((int)(i % ldb) >= c.K) B[i] = from_f32<T>(NAN);
    auto bias = rnd<float>(c.N);
    const size_t outs = (size_t)c.batch * c.M * c.N, canary = 64;
    std::vector<T> C(outs + canary, from_f32<T>(NAN));
    CUtensorMap mapA = kmajor_map(A.data(), c.M, c.K, lda, bA, (long)c.M * lda, WG_BM);
    CUtensorMap mapB = kmajor_map(B.data(), c.N, c.K, ldb, bB, (long)c.N * ldb, WG_BN);
    const long long sC = (long long)c.M * c.N;
    WgmmaEpilogue e{C.data(), c.bias ? bias.data() : nullptr, c.residual ? R.data() : nullptr, c.N, c.N, sC, c.residual ? sC : 0,
                    c.M, c.N, c.K, c.bias ? D_F32 : D_NONE, c.alpha, c.residual ? c.beta : 0.f, bA, bB};
    emu::sm90::tma_eager = c.eager;
    emu::sm90::dynamic_offset = c.smemOffset;
    emu::schedule_reverse = c.reverse;
    if (c.splits > 1) {
        std::vector<float> ws((size_t)c.batch * c.splits * c.M * c.N, NAN);
        SplitK sk{ws.data(), c.splits, c.per};
        launch(dim3{(unsigned)(c.N + WG_BN - 1) / WG_BN, (unsigned)(c.M + WG_BM - 1) / WG_BM, (unsigned)(c.batch * c.splits)}, WG_THREADS,
               [&] { gemm_split_kernel<T>()(mapA, mapB, e, sk); }, WGMMA_SMEM_BYTES);
        reduce_splits<T>(ws, c.batch, c.splits, c.M, c.N, c.alpha, e.bias ? bias.data() : nullptr, e.R ? R.data() : nullptr, e.beta, C.data());
    } else {
        launch(dim3{(unsigned)(c.N + WG_BN - 1) / WG_BN, (unsigned)(c.M + WG_BM - 1) / WG_BM, (unsigned)c.batch}, WG_THREADS,
               [&] { kernel(mapA, mapB, e); }, WGMMA_SMEM_BYTES);
    }
    std::vector<double> ref(outs);
    for (int z = 0; z < c.batch; z++) {
        const T* a = A.data() + (size_t)(c.broadcastA ? 0 : z) * c.M * lda;
        const T* b = B.data() + (size_t)(c.broadcastB ? 0 : z) * c.N * ldb;
        for (int m = 0; m < c.M; m++) for (int n = 0; n < c.N; n++) {
            double s = 0;
            for (int k = 0; k < c.K; k++) s += (double)to_f32(a[(size_t)m * lda + k]) * to_f32(b[(size_t)n * ldb + k]);
            size_t i = ((size_t)z * c.M + m) * c.N + n;
            ref[i] = c.alpha * s + (c.bias ? bias[n] : 0.) + (c.residual ? c.beta * to_f32(R[i]) : 0.);
        }
    }
    std::vector<T> got(C.begin(), C.begin() + outs);
    bool canaryIntact = true;
    for (size_t i = outs; i < C.size(); i++) canaryIntact &= std::isnan(to_f32(C[i]));
    char what[200];
    snprintf(what, sizeof what, "%s%s batch %d%s%s %dx%dx%d%s%s%s%s%s", name, c.splits > 1 ? "_split" : "", c.batch, c.broadcastA ? " (A shared)" : "",
             c.broadcastB ? " (B shared)" : "", c.M, c.N, c.K, c.padA || c.padB ? " padded rows" : "", c.residual ? " +R" : "", c.eager ? " tma-eager" : "",
             c.reverse ? " reverse" : "", c.smemOffset ? " smem+off" : "");
    report(what, canaryIntact ? relerr(ref, got) : 1e9, tol<T>());
}

struct ConvCase {
    int B, H, W, Cin, Cout, k, stride, padTop, padLeft, Ho, Wo;
    bool bias = true, residual = true;
    bool eager = false, reverse = false;
    int splits = 1, per = 0;
};

// out[b, oy, ox, n] = sum over taps (r, s) and channels c of x[b, oy*s - pt + r, ox*s - pl + s, c] w[n, r, s, c] + bias + R.
template <typename T>
void conv(const char* name, void (*kernel)(CUtensorMap, WgmmaEpilogue, ConvArgs, const void*), const ConvCase& c) {
    const int K = c.k * c.k * c.Cin, M = c.B * c.Ho * c.Wo, N = c.Cout;
    auto x = rnd<T>((size_t)c.B * c.H * c.W * c.Cin), w = rnd<T>((size_t)N * K), R = rnd<T>((size_t)M * N);
    auto bias = rnd<float>(N);
    const size_t canary = 64;
    std::vector<T> out((size_t)M * N + canary, from_f32<T>(NAN));
    CUtensorMap mapW = kmajor_map(w.data(), N, K, K, 1, (long)N * K, WG_BN);
    WgmmaEpilogue e{out.data(), c.bias ? bias.data() : nullptr, c.residual ? R.data() : nullptr, N, N, 0, 0,
                    M, N, K, c.bias ? D_F32 : D_NONE, 1.f, c.residual ? 1.f : 0.f, 1, 1};
    ConvArgs a{c.B, c.H, c.W, c.Cin, c.Ho, c.Wo, c.k, c.k, c.stride, c.stride, c.padTop, c.padLeft};
    emu::sm90::tma_eager = c.eager;
    emu::sm90::dynamic_offset = 0;
    emu::schedule_reverse = c.reverse;
    if (c.splits > 1) {
        std::vector<float> ws((size_t)c.splits * M * N, NAN);
        SplitK sk{ws.data(), c.splits, c.per};
        launch(dim3{(unsigned)(N + WG_BN - 1) / WG_BN, (unsigned)(M + WG_BM - 1) / WG_BM, (unsigned)c.splits}, WG_THREADS,
               [&] { conv_split_kernel<T>()(mapW, e, a, x.data(), sk); }, WGMMA_SMEM_BYTES);
        reduce_splits<T>(ws, 1, c.splits, M, N, 1.f, e.bias ? bias.data() : nullptr, e.R ? R.data() : nullptr, e.beta, out.data());
    } else {
        launch(dim3{(unsigned)(N + WG_BN - 1) / WG_BN, (unsigned)(M + WG_BM - 1) / WG_BM, 1}, WG_THREADS,
               [&] { kernel(mapW, e, a, x.data()); }, WGMMA_SMEM_BYTES);
    }
    std::vector<double> ref((size_t)M * N);
    for (int b = 0; b < c.B; b++) for (int oy = 0; oy < c.Ho; oy++) for (int ox = 0; ox < c.Wo; ox++) for (int n = 0; n < N; n++) {
        double s = 0;
        for (int r = 0; r < c.k; r++) for (int q = 0; q < c.k; q++) {
            const int iy = oy * c.stride - c.padTop + r, ix = ox * c.stride - c.padLeft + q;
            if (iy < 0 || iy >= c.H || ix < 0 || ix >= c.W) continue;
            for (int ch = 0; ch < c.Cin; ch++)
                s += (double)to_f32(x[(((size_t)b * c.H + iy) * c.W + ix) * c.Cin + ch]) * to_f32(w[(size_t)n * K + (r * c.k + q) * c.Cin + ch]);
        }
        const size_t i = (((size_t)b * c.Ho + oy) * c.Wo + ox) * N + n;
        ref[i] = s + (c.bias ? bias[n] : 0.) + (c.residual ? to_f32(R[i]) : 0.);
    }
    std::vector<T> got(out.begin(), out.begin() + (long)M * N);
    bool canaryIntact = true;
    for (size_t i = (size_t)M * N; i < out.size(); i++) canaryIntact &= std::isnan(to_f32(out[i]));
    char what[200];
    snprintf(what, sizeof what, "%s%s %dx%dx%dx%d k%d s%d pad %d,%d -> %d out%s%s%s", name, c.splits > 1 ? "_split" : "", c.B, c.H, c.W, c.Cin, c.k, c.stride, c.padTop, c.padLeft,
             c.Cout, c.residual ? " +R" : "", c.eager ? " eager" : "", c.reverse ? " reverse" : "");
    report(what, canaryIntact ? relerr(ref, got) : 1e9, tol<T>());
}

// out[m, j] = h[m, j] * gelu_erf(h[m, inner + j]), h = x W^T + b, W [2 * inner, K]: gemm_wgmma_*_nt_geglu.
template <typename T>
void geglu(const char* name, void (*kernel)(CUtensorMap, CUtensorMap, WgmmaEpilogue), int M, int inner, int K, bool reverse) {
    auto x = rnd<T>((size_t)M * K), w = rnd<T>((size_t)2 * inner * K);
    auto bias = rnd<float>(2 * inner);
    std::vector<T> out((size_t)M * inner + 64, from_f32<T>(NAN));
    CUtensorMap mapX = kmajor_map(x.data(), M, K, K, 1, (long)M * K, WG_BM);
    CUtensorMap mapW = kmajor_map(w.data(), 2 * inner, K, K, 1, (long)2 * inner * K, WG_BN / 2);
    WgmmaEpilogue e{out.data(), bias.data(), nullptr, inner, 0, 0, 0, M, inner, K, D_F32, 1.f, 0.f, 1, 1};
    emu::sm90::tma_eager = false;
    emu::sm90::dynamic_offset = 0;
    emu::schedule_reverse = reverse;
    launch(dim3{(unsigned)(inner / 64), (unsigned)(M + WG_BM - 1) / WG_BM, 1}, WG_THREADS, [&] { kernel(mapX, mapW, e); }, WGMMA_SMEM_BYTES);
    std::vector<double> ref((size_t)M * inner);
    auto h = [&](int m, int n) {
        double s = bias[n];
        for (int k = 0; k < K; k++) s += (double)to_f32(x[(size_t)m * K + k]) * to_f32(w[(size_t)n * K + k]);
        return s;
    };
    for (int m = 0; m < M; m++) for (int j = 0; j < inner; j++) {
        const double g = h(m, inner + j);
        ref[(size_t)m * inner + j] = h(m, j) * 0.5 * g * (1 + std::erf(g / std::sqrt(2.0)));
    }
    std::vector<T> got(out.begin(), out.begin() + (long)M * inner);
    bool canaryIntact = true;
    for (size_t i = (size_t)M * inner; i < out.size(); i++) canaryIntact &= std::isnan(to_f32(out[i]));
    char what[200];
    snprintf(what, sizeof what, "%s %dx%d (2 x %d features)%s", name, M, K, inner, reverse ? " reverse" : "");
    report(what, canaryIntact ? relerr(ref, got) : 1e9, tol<T>());
}

int main() {
    Case ragged{2, 200, 136, 200};  // K = 3 * 64 + 8: the last K box is mostly zero fill
    ragged.alpha = 0.75f, ragged.beta = -0.5f;
    gemm<f16>("gemm_wgmma_f16_nt", gemm_wgmma_f16_nt, ragged);
    Case shared{2, 130, 300, 72};   // a linear layer: one weight for the batch, no residual
    shared.broadcastB = true, shared.residual = false, shared.alpha = 1.25f;
    gemm<bf16>("gemm_wgmma_bf16_nt", gemm_wgmma_bf16_nt, shared);
    Case laps{1, 257, 129, 520};    // nine K tiles: three laps of the three-stage ring
    laps.bias = false, laps.beta = 0.5f;
    gemm<bf16>("gemm_wgmma_bf16_nt", gemm_wgmma_bf16_nt, laps);
    Case padded{3, 64, 130, 136};   // shared A with padded rows, dynamic shared memory not 1024-aligned
    padded.broadcastA = true, padded.padA = 8, padded.alpha = -1.f, padded.beta = 2.f, padded.smemOffset = 0x80;
    gemm<f16>("gemm_wgmma_f16_nt", gemm_wgmma_f16_nt, padded);
    Case odd{2, 100, 72, 100};      // K not a multiple of 8 (rows padded to 16 bytes), both operands batched
    odd.padA = 4, odd.padB = 12, odd.alpha = 0.5f;
    gemm<bf16>("gemm_wgmma_bf16_nt", gemm_wgmma_bf16_nt, odd);
    Case eager = laps;              // copies landing as early as possible, the producer acting between consumer steps
    eager.eager = true, eager.reverse = true, eager.M = 140, eager.K = 392;
    gemm<f16>("gemm_wgmma_f16_nt", gemm_wgmma_f16_nt, eager);
    Case reverse = ragged;          // the same schedule with copies landing late
    reverse.reverse = true, reverse.batch = 1;
    gemm<bf16>("gemm_wgmma_bf16_nt", gemm_wgmma_bf16_nt, reverse);
    ConvCase same{2, 9, 9, 64, 136, 3, 1, 1, 1, 9, 9};  // M = 162, N = 136: partial tiles both ways
    conv<f16>("conv_wgmma_f16", conv_wgmma_f16, same);
    ConvCase down{1, 9, 10, 128, 64, 3, 2, 0, 0, 4, 4};  // stride 2, padding on the bottom/right only (the VAE's); 18 K tiles
    down.residual = false;
    conv<bf16>("conv_wgmma_bf16", conv_wgmma_bf16, down);
    ConvCase pointwise{1, 5, 7, 192, 130, 1, 1, 0, 0, 5, 7};  // 1x1: three channel blocks, copies landing at issue
    pointwise.bias = false, pointwise.eager = true, pointwise.reverse = true;
    conv<f16>("conv_wgmma_f16", conv_wgmma_f16, pointwise);
    ConvCase late = same;  // the producer warp between consumer steps, copies landing late
    late.B = 1, late.reverse = true, late.Cout = 64;
    conv<bf16>("conv_wgmma_bf16", conv_wgmma_bf16, late);
    Case split = laps;              // nine K tiles in splits of 4, 4 and 1 (a split shorter than the ring), batched
    split.batch = 2, split.splits = 3, split.per = 4;
    gemm<f16>("gemm_wgmma_f16_nt", gemm_wgmma_f16_nt, split);
    ConvCase convSplit = down;      // 18 K tiles in splits of 5 (the last 3), residual
    convSplit.splits = 4, convSplit.per = 5, convSplit.residual = true, convSplit.reverse = true;
    conv<bf16>("conv_wgmma_bf16", conv_wgmma_bf16, convSplit);
    geglu<f16>("gemm_wgmma_f16_nt_geglu", gemm_wgmma_f16_nt_geglu, 150, 192, 200, false);  // three 64-feature tiles, ragged M and K
    geglu<bf16>("gemm_wgmma_bf16_nt_geglu", gemm_wgmma_bf16_nt_geglu, 64, 128, 320, true);
    printf(fails ? "%d FAILED\n" : "all ok\n", fails);
    return fails ? 1 : 0;
}
