// OCP FP8 E4M3 ("fn"): 1 sign, 4 exponent (bias 7), 3 mantissa bits; largest finite 448,
// smallest subnormal 2^-9, no infinities, NaN = S.1111.111 (docs/quantization.md, "FP8").
#pragma once

#include <cstdint>

namespace lowbit {

inline constexpr float kE4M3Max = 448.0f;
inline constexpr uint8_t kE4M3MaxCode = 0x7E;  // +448
inline constexpr uint8_t kE4M3NaN = 0x7F;

// Round to nearest E4M3 value, ties to the even code (mantissa LSB 0); |v| > 448 (and ±Inf)
// saturate to ±448, as PTX cvt.rn.satfinite.e4m3x2.f32 does. The sign is kept, so -0.0 and
// negatives that round to zero encode as 0x80. NaN gives 0x7F (callers reject NaN first).
uint8_t e4m3_encode(float v);

// Exact value of a code (every E4M3 value is a float32); 0x7F / 0xFF decode to NaN.
float e4m3_decode(uint8_t code);

// All 256 decoded values, for kernels that decode by table.
const float* e4m3_table();

}  // namespace lowbit
