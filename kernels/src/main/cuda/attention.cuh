// Parameters of the attention kernels (DESIGN §3), passed by value. Logits are kept in the log2
// domain: x = (q.k) * scaleLog2 + biasLog2 with scaleLog2 = softmax_scale * c_j * log2(e), so the
// softmax is exp2(x - max). The saved log-sum-exp is in the same units.
#pragma once
#include "common.cuh"

#define ATT_MAX_SEG 4
#define ATT_MAX_B 64

struct AttnSeg {
    const void* k; const void* v;
    long long kTok, kBatch, vTok, vBatch;  // strides in elements
    int nk;
    float scaleLog2, biasLog2;
    int pad_;
};

struct AttnParams {
    const void* q; long long qTok, qBatch;
    void* out; long long oTok, oBatch;  // T [B, Nq, H*D], or F32 when accumulate != 0
    float* lse;                          // [B, H, Nq] log2 units, or null
    // AdaIN as per-(item, channel) affines [B, H*D] (x * a + c), or null: queries, and the keys /
    // values of segment 0 as seen by query item b.
    const float* qa; const float* qc; const float* ka; const float* kc; const float* va; const float* vc;
    int B, H, D, nq;
    int nseg, causal, accumulate, pad_;
    AttnSeg seg[ATT_MAX_SEG];
    short map[ATT_MAX_SEG][ATT_MAX_B];  // K/V row of segment j used by query item b; -1: absent
    float weight[ATT_MAX_B];            // accumulate mode: out += weight[b] * attention
};

// Mirrored by CudaAttention.params in the Java backend.
static_assert(sizeof(AttnSeg) == 64, "AttnSeg layout");
static_assert(sizeof(AttnParams) == 1160 && offsetof(AttnParams, lse) == 48 && offsetof(AttnParams, B) == 104 &&
              offsetof(AttnParams, nseg) == 120 && offsetof(AttnParams, seg) == 136 && offsetof(AttnParams, map) == 392 &&
              offsetof(AttnParams, weight) == 904, "AttnParams layout");

// Tail of the kernels: write one output element (or accumulate into the F32 buffer).
template <typename T>
__device__ __forceinline__ void attn_store(const AttnParams& p, int b, int q, int col, float v) {
    if (p.accumulate) {
        float* o = static_cast<float*>(p.out) + b * p.oBatch + (long long)q * p.oTok + col;
        *o += p.weight[b] * v;
    } else {
        T* o = static_cast<T*>(p.out) + b * p.oBatch + (long long)q * p.oTok + col;
        *o = from_f32<T>(v);
    }
}
