// Host-emulated check of the Hopper flash attention (attention_sm90.cu: TMA ring + wgmma for Q K^T
// and, with P from registers and V read N-major, for P V) against a float64 reference of the
// attention op's contract on the same rounded inputs: ragged query and key counts (zero-filled
// boxes), several key tiles, joint segments with item maps (StyleAligned's shared reference),
// per-segment logit scale and bias, AdaIN affines on Q, K and V, causal masking, stratified
// accumulation with an absent segment, the log-sum-exp, strided Q (a slice of a fused QKV), both
// copy-landing orders and the reverse schedule.
#include "emu.h"
#include "attention_sm90.cu"
#include "sm90_test.h"

struct Seg {
    int rows, nk;
    std::vector<int> map;  // K/V row per query item, -1: absent
    float c = 1.f, bias = 0.f;
};
struct AttnCase {
    const char* name;
    int B, H, nq;
    std::vector<Seg> segs;
    bool adainQ = false, adainKV = false, causal = false, lse = true;
    int qTokPad = 0;             // Q rows are [H*64 + pad] long (a slice of a wider projection)
    bool accumulate = false;     // stratified launch of segment 0 into an F32 buffer, weight per item
    bool eager = false, reverse = false;
};

// Mirrors CudaAttention.params: x = (q.k) * scale * c * log2(e) + bias * log2(e).
template <typename T>
void attention(void (*kernel)(FwMaps, AttnParams), const AttnCase& c) {
    constexpr int D = FW_D;
    const int HD = c.H * D, qTok = HD + c.qTokPad;
    const double scale = 1.0 / std::sqrt(double(D)), LOG2E = 1.4426950408889634;
    auto q = rnd<T>((size_t)c.B * c.nq * qTok);
    std::vector<std::vector<T>> ks, vs;
    for (const Seg& s : c.segs) { ks.push_back(rnd<T>((size_t)s.rows * s.nk * HD)); vs.push_back(rnd<T>((size_t)s.rows * s.nk * HD)); }
    // AdaIN affines [B, HD]: a near 1, c small (as the coefficients of a real AdaIN are).
    auto affine = [&](bool on, std::vector<float>& a, std::vector<float>& cc) {
        if (!on) return;
        a = rnd<float>((size_t)c.B * HD), cc = rnd<float>((size_t)c.B * HD);
        for (auto& x : a) x = 1.f + 0.5f * x;
        for (auto& x : cc) x *= 0.3f;
    };
    std::vector<float> qa, qc, ka, kc, va, vc, weight(ATT_MAX_B, 1.f);
    affine(c.adainQ, qa, qc);
    affine(c.adainKV, ka, kc);
    affine(c.adainKV, va, vc);
    for (int b = 0; b < c.B; b++) weight[b] = 0.25f + 0.5f * float(b);

    const size_t outs = (size_t)c.B * c.nq * HD, canary = 64;
    std::vector<T> out(outs + canary, from_f32<T>(NAN));
    std::vector<float> acc(outs, 0.f), lse((size_t)c.B * c.H * c.nq, NAN);
    for (size_t i = 0; i < outs; i++) acc[i] = 0.1f * float(i % 7);  // accumulate adds to what is there

    FwMaps maps{};
    maps.q = kmajor_map(q.data(), c.nq, HD, qTok, c.B, (long)c.nq * qTok, FW_BQ);
    AttnParams p{};
    p.q = q.data(), p.qTok = qTok, p.qBatch = (long long)c.nq * qTok;
    p.out = c.accumulate ? (void*)acc.data() : (void*)out.data(), p.oTok = HD, p.oBatch = (long long)c.nq * HD;
    p.lse = c.lse ? lse.data() : nullptr;
    p.qa = c.adainQ ? qa.data() : nullptr, p.qc = c.adainQ ? qc.data() : nullptr;
    p.ka = c.adainKV ? ka.data() : nullptr, p.kc = c.adainKV ? kc.data() : nullptr;
    p.va = c.adainKV ? va.data() : nullptr, p.vc = c.adainKV ? vc.data() : nullptr;
    p.B = c.B, p.H = c.H, p.D = D, p.nq = c.nq;
    p.nseg = (int)c.segs.size(), p.causal = c.causal, p.accumulate = c.accumulate;
    for (size_t j = 0; j < c.segs.size(); j++) {
        const Seg& s = c.segs[j];
        maps.k[j] = kmajor_map(ks[j].data(), s.nk, HD, HD, s.rows, (long)s.nk * HD, FW_BK);
        maps.v[j] = kmajor_map(vs[j].data(), s.nk, HD, HD, s.rows, (long)s.nk * HD, FW_BK);
        p.seg[j] = AttnSeg{ks[j].data(), vs[j].data(), HD, (long long)s.nk * HD, HD, (long long)s.nk * HD, s.nk,
                           float(scale * s.c * LOG2E), float(s.bias * LOG2E), 0};
        for (int b = 0; b < ATT_MAX_B; b++) p.map[j][b] = short(b < c.B ? s.map[b] : -1);
    }
    for (int b = 0; b < ATT_MAX_B; b++) p.weight[b] = weight[b];

    emu::sm90::tma_eager = c.eager;
    emu::sm90::dynamic_offset = 0;
    emu::schedule_reverse = c.reverse;
    launch(dim3{(unsigned)(c.nq + FW_BQ - 1) / FW_BQ, (unsigned)c.H, (unsigned)c.B}, WG_THREADS, [&] { kernel(maps, p); },
           FLASH_WGMMA_SMEM_BYTES);

    // Reference: AdaIN'd operands rounded to T as the kernel stores them in shared memory.
    auto at = [](const std::vector<T>& x, size_t i, const std::vector<float>& a, const std::vector<float>& cc, size_t coef, bool on) {
        return !on || a.empty() ? (double)to_f32(x[i]) : (double)to_f32(from_f32<T>(std::fmaf(to_f32(x[i]), a[coef], cc[coef])));
    };
    std::vector<double> ref(outs), refLse((size_t)c.B * c.H * c.nq);
    for (int b = 0; b < c.B; b++) for (int h = 0; h < c.H; h++) for (int i = 0; i < c.nq; i++) {
        std::vector<double> x, w;
        std::vector<std::pair<int, size_t>> where;  // segment, K/V element offset of the key's head
        for (size_t j = 0; j < c.segs.size(); j++) {
            const Seg& s = c.segs[j];
            const int row = s.map[b];
            if (row < 0) continue;
            for (int t = 0; t < s.nk; t++) {
                if (c.causal && t > i) continue;
                const size_t kOff = ((size_t)row * s.nk + t) * HD + h * D;
                double dot = 0;
                for (int d = 0; d < D; d++)
                    dot += at(q, ((size_t)b * c.nq + i) * qTok + h * D + d, qa, qc, (size_t)b * HD + h * D + d, true)
                         * at(ks[j], kOff + d, ka, kc, (size_t)b * HD + h * D + d, j == 0);
                x.push_back(dot * scale * s.c * LOG2E + s.bias * LOG2E);
                where.push_back({(int)j, kOff});
            }
        }
        double mx = -INFINITY, sum = 0;
        for (double v : x) mx = std::max(mx, v);
        for (double v : x) sum += std::exp2(v - mx);
        refLse[((size_t)b * c.H + h) * c.nq + i] = mx + std::log2(sum);
        for (int d = 0; d < D; d++) {
            double o = 0;
            for (size_t n = 0; n < x.size(); n++) {
                const auto [j, kOff] = where[n];
                o += std::exp2(x[n] - mx) / sum * at(vs[j], kOff + d, va, vc, (size_t)b * HD + h * D + d, j == 0);
            }
            const size_t oi = ((size_t)b * c.nq + i) * HD + h * D + d;
            const bool present = c.segs[0].map[b] >= 0;
            ref[oi] = c.accumulate ? 0.1 * double(oi % 7) + (present ? weight[b] * o : 0.0) : o;
        }
    }
    double err;
    if (c.accumulate) {
        err = relerr(ref, acc);
    } else {
        std::vector<T> got(out.begin(), out.begin() + (long)outs);
        bool canaryIntact = true;
        for (size_t i = outs; i < out.size(); i++) canaryIntact &= std::isnan(to_f32(out[i]));
        err = canaryIntact ? relerr(ref, got) : 1e9;
    }
    char what[200];
    snprintf(what, sizeof what, "%s %s B%d H%d nq %d%s%s", c.name, std::is_same_v<T, bf16> ? "bf16" : "f16", c.B, c.H, c.nq,
             c.eager ? " tma-eager" : "", c.reverse ? " reverse" : "");
    report(what, err, std::is_same_v<T, bf16> ? 1e-2 : 2e-3);
    if (c.lse && !c.accumulate) {
        double worst = 0;
        for (size_t i = 0; i < lse.size(); i++) worst = std::max(worst, std::fabs(lse[i] - refLse[i]));
        report(std::string(what) + " log-sum-exp (max abs, log2 units)", std::isnan(worst) ? 1e9 : worst, 2e-2);
    }
}

int main() {
    std::vector<int> own2{0, 1}, ref0{0, 0};
    const AttnCase cases[] = {
        // SDXL-like self-attention, ragged: 2 query blocks (the second partial), 3 key tiles (the last partial).
        {"self", 2, 2, 300, {Seg{2, 300, own2}}},
        // Cross-attention: 77 text tokens, one partial key tile, strided Q.
        {"cross 77 keys, strided q", 2, 1, 130, {Seg{2, 77, own2}}, false, false, false, true, 64},
        // StyleAligned: own keys (AdaIN'd toward the reference) then the reference's keys, scaled and biased.
        {"joint own + shared reference, AdaIN", 2, 2, 140, {Seg{2, 140, own2}, Seg{2, 140, ref0, 1.25f, -0.5f}}, true, true},
        {"causal", 1, 2, 200, {Seg{1, 200, {0}}}, false, false, true},
        // Stratified: segment 0 only for item 1 (item 0 lacks it and must be left untouched).
        {"stratified accumulate", 2, 1, 150, {Seg{2, 150, {-1, 1}}}, true, true, false, false, 0, true},
    };
    for (const AttnCase& c : cases) attention<f16>(flash_wgmma_f16_d64, c);
    for (const AttnCase& c : cases) attention<bf16>(flash_wgmma_bf16_d64, c);
    AttnCase stress = cases[2];
    stress.eager = true;
    attention<f16>(flash_wgmma_f16_d64, stress);
    stress.eager = false, stress.reverse = true;
    attention<bf16>(flash_wgmma_bf16_d64, stress);
    printf(fails ? "%d FAILED\n" : "all ok\n", fails);
    return fails ? 1 : 0;
}
