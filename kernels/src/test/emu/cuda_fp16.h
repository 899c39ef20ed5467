// Stand-in for the toolkit header under host emulation: storage type and IEEE conversions only
// (through the compiler's _Float16, one instruction with F16C).
#pragma once
#include <cstdint>
#include <cstring>
struct __half { uint16_t x; };
inline float __half2float(__half h) { _Float16 f; std::memcpy(&f, &h.x, 2); return (float)f; }
inline __half __float2half_rn(float f) { _Float16 h = (_Float16)f; __half o; std::memcpy(&o.x, &h, 2); return o; }
struct __half2 { __half x, y; };
inline __half2 __floats2half2_rn(float a, float b) { return {__float2half_rn(a), __float2half_rn(b)}; }
