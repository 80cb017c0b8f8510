#include "quant/fp8.h"

#include <bit>
#include <cmath>
#include <limits>

namespace lowbit {

uint8_t e4m3_encode(float v) {
  const uint32_t bits = std::bit_cast<uint32_t>(v);
  const uint8_t sign = uint8_t((bits >> 24) & 0x80);
  const uint32_t mag = bits & 0x7FFFFFFFu;
  if (mag > 0x7F800000u) return kE4M3NaN;
  if (mag >= std::bit_cast<uint32_t>(kE4M3Max)) return sign | kE4M3MaxCode;
  const float a = std::bit_cast<float>(mag);
  if (a < 0.015625f) {
    // Below 2^-6 the E4M3 grid is uniform with step 2^-9 (subnormals), and code = a / 2^-9:
    // code 8 (a rounds up to 2^-6) is the smallest normal, so the carry needs no special case.
    // a * 512 is exact (a power-of-two scaling of a float32 that cannot overflow).
    return sign | uint8_t(std::nearbyint(a * 512.0f));
  }
  // Normal: keep 3 of the 23 mantissa bits, rounding the dropped 20 to nearest even on the
  // integer bit pattern (a carry into the exponent is the correct next binade). Then rebias
  // the exponent from 127 to 7. a < 448 so the result never reaches the NaN code.
  const uint32_t rounded = (mag + 0x7FFFFu + ((mag >> 20) & 1u)) >> 20;
  return sign | uint8_t(rounded - ((127u - 7u) << 3));
}

float e4m3_decode(uint8_t code) {
  const float sign = (code & 0x80) ? -1.0f : 1.0f;
  const int exp = (code >> 3) & 0xF;
  const int man = code & 0x7;
  if (exp == 0xF && man == 0x7) return std::numeric_limits<float>::quiet_NaN();
  if (exp == 0) return sign * std::ldexp(float(man), -9);
  return sign * std::ldexp(float(8 + man), exp - 10);
}

const float* e4m3_table() {
  static const struct Table {
    float v[256];
    Table() {
      for (int c = 0; c < 256; ++c) v[c] = e4m3_decode(uint8_t(c));
    }
  } table;
  return table.v;
}

}  // namespace lowbit
