// Host-emulated check of attention_grad.cu (see kernels/emu-test.sh): the three backward passes against a
// naive double-precision joint-attention backward, for segments with maps, scales, biases, causal and map gradients.
#include "emu.h"
#include "attention_grad.cu"
#include <cstdio>
#include <random>
// Naive double reference of the joint attention backward (Backend.attentionBackward semantics).
struct Seg { int bk, nk; std::vector<float> k, v; std::vector<int> map; float c, bias, weight = 1; };
static std::mt19937 rng(5);
static std::vector<float> rnd(size_t n) { std::uniform_real_distribution<float> u(-1, 1); std::vector<float> v(n); for (auto& x : v) x = u(rng); return v; }
static double relerr(const std::vector<double>& r, const std::vector<float>& g) { double n = 0, d = 0; for (size_t i = 0; i < r.size(); i++) { n += (g[i] - r[i]) * (g[i] - r[i]); d += r[i] * r[i]; } return std::sqrt(n / (d + 1e-30)); }
int fails = 0;
void run(const char* name, int B, int nq, int H, int D, std::vector<Seg> segs, bool causal, int cap, bool withDout, bool withMaps, float scale, bool stratified = false) {
    int HD = H * D;
    auto q = rnd((size_t)B * nq * HD);
    std::vector<float> dout = withDout ? rnd((size_t)B * nq * HD) : std::vector<float>();
    std::vector<float> dmaps = (withMaps && cap >= 0) ? rnd((size_t)B * nq * segs[cap].nk) : std::vector<float>();
    // reference
    std::vector<double> rdq((size_t)B * nq * HD, 0);
    std::vector<std::vector<double>> rdk, rdv;
    for (auto& s : segs) { rdk.emplace_back((size_t)s.bk * s.nk * HD, 0); rdv.emplace_back((size_t)s.bk * s.nk * HD, 0); }
    for (int b = 0; b < B; b++) for (int h = 0; h < H; h++) for (int i = 0; i < nq; i++) for (size_t grp = 0; grp < (stratified ? segs.size() : 1); grp++) {
        std::vector<std::tuple<int,int,int,double>> keys; // seg, row, key, logit
        double mx = -1e300, present = 0;
        for (auto& sg : segs) if (sg.map[b] >= 0) present += sg.weight;
        double f = stratified ? (segs[grp].map[b] >= 0 ? segs[grp].weight / present : 0) : 1;
        for (size_t j = 0; j < segs.size(); j++) { int row = segs[j].map[b]; if (row < 0 || (stratified && j != grp)) continue;
            for (int t = 0; t < segs[j].nk; t++) { if (causal && t > i) continue; double dot = 0;
                for (int d = 0; d < D; d++) dot += (double)q[((size_t)b * nq + i) * HD + h * D + d] * segs[j].k[((size_t)row * segs[j].nk + t) * HD + h * D + d];
                double x = scale * segs[j].c * dot + segs[j].bias; keys.emplace_back(j, row, t, x); mx = std::max(mx, x); } }
        double sum = 0; for (auto& k : keys) sum += std::exp(std::get<3>(k) - mx);
        std::vector<double> P, dP; double Dd = 0;
        for (auto& [j, row, t, x] : keys) { double p = std::exp(x - mx) / sum; double dp = 0;
            if (withDout) for (int d = 0; d < D; d++) dp += f * dout[((size_t)b * nq + i) * HD + h * D + d] * segs[j].v[((size_t)row * segs[j].nk + t) * HD + h * D + d];
            if (!dmaps.empty() && (int)j == cap) dp += dmaps[((size_t)b * nq + i) * segs[j].nk + t] / H;
            P.push_back(p); dP.push_back(dp); Dd += p * dp; }
        for (size_t n = 0; n < keys.size(); n++) { auto [j, row, t, x] = keys[n]; double ds = P[n] * (dP[n] - Dd) * scale * segs[j].c;
            for (int d = 0; d < D; d++) { size_t qa = ((size_t)b * nq + i) * HD + h * D + d, ka = ((size_t)row * segs[j].nk + t) * HD + h * D + d;
                rdq[qa] += ds * segs[j].k[ka]; rdk[j][ka] += ds * q[qa]; if (withDout) rdv[j][ka] += P[n] * f * dout[qa]; } }
    }
    // kernels
    auto params = [&](std::vector<int> which) { AttnParams p; std::memset(&p, 0, sizeof p);
        p.q = q.data(); p.qTok = HD; p.qBatch = (long long)nq * HD; p.B = B; p.H = H; p.D = D; p.nq = nq; p.nseg = which.size(); p.causal = causal;
        p.accumulate = stratified;
        for (int b = 0; b < B; b++) { double present = 0; for (auto& sg : segs) if (sg.map[b] >= 0) present += sg.weight;
            p.weight[b] = stratified && segs[which[0]].map[b] >= 0 ? (float)(segs[which[0]].weight / present) : stratified ? 0.f : 1.f; }
        for (int s = 0; s < ATT_MAX_SEG; s++) for (int b = 0; b < ATT_MAX_B; b++) p.map[s][b] = -1;
        for (size_t s = 0; s < which.size(); s++) { Seg& g = segs[which[s]]; AttnSeg& a = p.seg[s];
            a.k = g.k.data(); a.v = g.v.data(); a.kTok = a.vTok = HD; a.kBatch = a.vBatch = (long long)g.nk * HD; a.nk = g.nk;
            a.scaleLog2 = scale * g.c * 1.4426950408889634f; a.biasLog2 = g.bias * 1.4426950408889634f;
            for (int b = 0; b < B; b++) p.map[s][b] = g.map[b]; }
        return p; };
    std::vector<float> lse((size_t)B * H * nq, NAN), delta((size_t)B * H * nq, NAN), dq((size_t)B * nq * HD, stratified ? 0.f : NAN);
    const float* dO = withDout ? dout.data() : nullptr; const float* dM = dmaps.empty() ? nullptr : dmaps.data();
    int mapSeg = dM ? cap : -1;
    std::vector<std::vector<int>> passes;
    if (stratified) for (size_t j = 0; j < segs.size(); j++) passes.push_back({(int)j});
    else { std::vector<int> all; for (size_t j = 0; j < segs.size(); j++) all.push_back(j); passes.push_back(all); }
    std::vector<std::vector<float>> dks(segs.size()), dvs(segs.size());
    for (auto& which : passes) {
        AttnParams p = params(which);
        int passMap = -1; for (size_t sl = 0; sl < which.size(); sl++) if (which[sl] == mapSeg) passMap = sl;
        launch(dim3{(unsigned)(nq + 3) / 4, (unsigned)H, (unsigned)B}, 128, [&] { attn_bwd_prep(p, dO, dM, passMap, 1.f / H, lse.data(), delta.data()); });
        launch(dim3{(unsigned)(nq + 3) / 4, (unsigned)H, (unsigned)B}, 128, [&] { attn_bwd_dq(p, dO, dM, passMap, 1.f / H, lse.data(), delta.data(), dq.data()); });
        for (int j : which) {
            AttnParams pj = stratified ? p : params({j});
            dks[j].assign(rdk[j].size(), NAN); dvs[j].assign(rdv[j].size(), NAN);
            launch(dim3{(unsigned)(segs[j].nk + 3) / 4, (unsigned)H, (unsigned)segs[j].bk}, 128,
                   [&] { attn_bwd_dkv(pj, dO, dM, j == mapSeg ? 0 : -1, 1.f / H, lse.data(), delta.data(), dks[j].data(), dvs[j].data()); });
        }
    }
    double e = relerr(rdq, dq); printf("%-40s dq %.2e\n", name, e); if (!(e < 1e-5)) fails++;
    for (size_t j = 0; j < segs.size(); j++) {
        auto& dk = dks[j]; auto& dv = dvs[j];
        double ek = relerr(rdk[j], dk), ev = withDout ? relerr(rdv[j], dv) : 0;
        if (!withDout) for (float x : dv) if (x != 0) ev = 1;
        printf("%-40s dk[%zu] %.2e dv[%zu] %.2e\n", name, j, ek, j, ev); if (!(ek < 1e-5) || !(ev < 1e-5)) fails++;
    }
}
Seg seg(int bk, int nk, int HD, std::vector<int> map, float c, float bias) { return Seg{bk, nk, rnd((size_t)bk * nk * HD), rnd((size_t)bk * nk * HD), map, c, bias}; }
int main() {
    run("plain B2 N37 H2 D24", 2, 37, 2, 24, {seg(2, 40, 48, {0, 1}, 1, 0)}, false, -1, true, false, 1 / std::sqrt(24.f));
    run("plain D80 H1", 1, 13, 1, 80, {seg(1, 9, 80, {0}, 1, 0)}, false, -1, true, false, 1 / std::sqrt(80.f));
    run("D160", 2, 5, 1, 160, {seg(2, 7, 160, {0, 1}, 1, 0)}, false, 0, true, true, 1 / std::sqrt(160.f));
    run("joint 3 segs cap1", 3, 21, 2, 32, {seg(3, 21, 64, {0, 1, 2}, 1, 0), seg(1, 17, 64, {0, -1, 0}, 1.2f, 0.1f), seg(2, 9, 64, {1, 1, -1}, 0.7f, -0.4f)}, false, 1, true, true, 0.17f);
    run("joint 3 segs cap2", 3, 21, 2, 32, {seg(3, 21, 64, {0, 1, 2}, 1, 0), seg(1, 17, 64, {0, -1, 0}, 1.2f, 0.1f), seg(2, 9, 64, {1, 1, -1}, 0.7f, -0.4f)}, false, 2, true, true, 0.17f);
    run("maps only", 2, 11, 2, 16, {seg(2, 11, 32, {0, 1}, 1, 0), seg(1, 6, 32, {0, 0}, 1, 0)}, false, 1, false, true, 0.25f);
    run("causal + maps", 2, 33, 2, 16, {seg(2, 33, 32, {0, 1}, 1, 0)}, true, 0, true, true, 0.25f);
    run("broadcast", 3, 10, 4, 8, {seg(1, 12, 32, {0, 0, 0}, 1, 0)}, false, -1, true, false, 0.35f);
    { auto a = seg(2, 21, 64, {0, 1}, 1, 0), b = seg(1, 9, 64, {-1, 0}, 1.3f, 0.2f), c = seg(2, 5, 64, {1, 0}, 1, 0); b.weight = 0.4f; c.weight = 0.25f;
      run("stratified 3 segs cap1", 2, 21, 2, 32, {a, b, c}, false, 1, true, true, 0.2f, true);
      run("stratified maps only cap2", 2, 21, 2, 32, {a, b, c}, false, 2, false, true, 0.2f, true); }
    printf(fails ? "FAILURES: %d\n" : "all ok\n", fails);
    return fails != 0;
}
