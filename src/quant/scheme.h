// Quantization schemes and the reference quantizer (docs/quantization.md is the contract, to the
// bit; the CUDA kernels and the Python QAT toolkit must produce the same codes and scales).
//
// A scheme's short string form, used in recipes and on the command line:
//   int<b>     symmetric integer, b = 2..8 bits       ("int8", "int4")
//   uint<b>    asymmetric integer (unsigned codes 0..2^b-1 with a float zero point: "uint8")
//   fp8        OCP FP8 E4M3 ("fn"), per-row scale (also accepted: "fp8_e4m3")
// followed by optional, '_'-separated options:
//   _g<G>      groups of G consecutive elements of a row share a scale (default: the whole row)
//   _c<c>      clip: elements are clamped to [-c, c] first (c > 0, finite; shortest float form)
//   _p2        (symmetric integer only) each scale rounded up to a power of two, so that a code
//              times its scale is exact in FP8 E4M3 (ZeroQuant-FP's W4A8 on FP8 tensor cores)
// e.g. "int4_g128", "uint8_c6.5", "fp8_c448", "int4_g128_p2". str() writes the options in that
// order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "quant/packing.h"

namespace lowbit {

enum class QuantKind : uint8_t { Int, Fp8E4M3 };

struct QuantScheme {
  QuantKind kind = QuantKind::Int;
  int bits = 8;               // 2..8 for Int; always 8 for Fp8E4M3
  bool symmetric = true;      // asymmetric is Int only
  int64_t group_size = 0;     // 0: one group per row
  std::optional<float> clip;  // per tensor, applied before the scale is computed
  bool pow2 = false;          // scales rounded up to powers of two (symmetric Int only)

  static QuantScheme int_sym(int bits, int64_t group_size = 0) {
    return {QuantKind::Int, bits, true, group_size, std::nullopt, false};
  }
  static QuantScheme int_asym(int bits, int64_t group_size = 0) {
    return {QuantKind::Int, bits, false, group_size, std::nullopt, false};
  }
  static QuantScheme fp8(int64_t group_size = 0) {
    return {QuantKind::Fp8E4M3, 8, true, group_size, std::nullopt, false};
  }

  // Throws lowbit::Error on bits out of range, asymmetric FP8, a negative group size, a clip
  // that is not finite and > 0, or power-of-two scales on anything but a symmetric integer.
  void validate() const;
  // Validates the scheme against a row length: the group size must divide it and 4-bit rows
  // must be even. `what` names the tensor. Returns the number of groups per row.
  int64_t groups_per_row(int64_t cols, std::string_view what = "matrix") const;

  PackedLayout layout() const;
  // Integer code range: [-2^(b-1), 2^(b-1)-1] symmetric, [0, 2^b-1] asymmetric.
  int32_t qmin() const { return symmetric ? -(1 << (bits - 1)) : 0; }
  int32_t qmax() const { return symmetric ? (1 << (bits - 1)) - 1 : (1 << bits) - 1; }
  bool is_int() const { return kind == QuantKind::Int; }

  std::string str() const;
  // Parses the string form above; throws lowbit::Error naming the string on anything else.
  static QuantScheme parse(std::string_view s);

  bool operator==(const QuantScheme&) const = default;
};

// Quantizes x [rows, cols] (row-major float32) group by group, exactly as the contract says.
//   codes  [rows, packed_row_bytes(layout, cols)]  packed per src/quant/packing.h
//   scales [rows, groups]
//   zeros  [rows, groups]  asymmetric only (may be null for other schemes)
// A non-finite element (or an asymmetric group whose max - min overflows float32) throws
// lowbit::Error naming `name`, the row and the column; nothing is promised about the outputs
// then. `row_offset` is added to row numbers in messages (for callers quantizing a slice).
void quantize_rows(const QuantScheme& s, const float* x, int64_t rows, int64_t cols, uint8_t* codes,
                   float* scales, float* zeros, std::string_view name, int64_t row_offset = 0);

// out [rows, cols] = scale * q (+ zero), one float32 operation at a time.
void dequantize_rows(const QuantScheme& s, const uint8_t* codes, const float* scales,
                     const float* zeros, int64_t rows, int64_t cols, float* out);

}  // namespace lowbit
