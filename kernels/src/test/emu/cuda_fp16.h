// Stand-in for the toolkit header under host emulation: storage type and IEEE conversions only.
#pragma once
#include <cstdint>
#include <cstring>
struct __half { uint16_t x; };
inline float __half2float(__half h) { // IEEE half -> float
    uint32_t s = (h.x & 0x8000u) << 16, e = (h.x >> 10) & 0x1f, m = h.x & 0x3ff, r;
    if (e == 0) { if (m == 0) r = s; else { int k = 0; while (!(m & 0x400)) { m <<= 1; k++; } m &= 0x3ff; r = s | ((113 - k) << 23) | (m << 13); } }
    else if (e == 31) r = s | 0x7f800000u | (m << 13); else r = s | ((e + 112) << 23) | (m << 13);
    float f; std::memcpy(&f, &r, 4); return f; }
inline __half __float2half_rn(float f) { _Float16 h = (_Float16)f; __half o; std::memcpy(&o.x, &h, 2); return o; }
struct __half2 { __half x, y; };
inline __half2 __floats2half2_rn(float a, float b) { return {__float2half_rn(a), __float2half_rn(b)}; }
