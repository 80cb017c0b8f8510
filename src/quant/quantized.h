// Quantized matrices as later code (the quantized Linear layer, the model format) holds them:
// packed codes plus per-group scales (and zero points), with the per-group code sums that the
// asymmetric-activation GEMM epilogue needs precomputed.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "quant/scheme.h"

namespace lowbit {

struct QuantizedMatrix {
  QuantScheme scheme;
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> codes;      // [rows, row_bytes()], packed per src/quant/packing.h
  std::vector<float> scales;       // [rows, groups()]
  std::vector<float> zeros;        // [rows, groups()]; asymmetric only, else empty
  std::vector<int32_t> code_sums;  // [rows, groups()]: Σ_{k in group} q[r, k]; integer only

  int64_t groups() const { return scheme.group_size ? cols / scheme.group_size : 1; }
  int64_t row_bytes() const { return packed_row_bytes_unchecked(scheme.layout(), cols); }
  const uint8_t* row(int64_t r) const { return codes.data() + r * row_bytes(); }
  // Integer code (FP8: raw byte) of element [r, c].
  int32_t code(int64_t r, int64_t c) const { return load_code(scheme.layout(), row(r), c); }
};

// x [rows, cols] float32, quantized group-wise per `scheme`; `name` names the tensor in errors.
QuantizedMatrix quantize_matrix(const float* x, int64_t rows, int64_t cols,
                                const QuantScheme& scheme, std::string_view name);
QuantizedMatrix quantize_matrix(const Tensor& x, const QuantScheme& scheme, std::string_view name);

// [rows, cols] float32: scale * q (+ zero).
void dequantize(const QuantizedMatrix& q, float* out);
Tensor dequantize(const QuantizedMatrix& q);

// The FP8 E4M3 form of symmetric integer weights with power-of-two scales (scheme _p2, the
// w4a8-fp8 mode): per row one scale 2^e_max (e_max: the row's largest group exponent) and codes
// e4m3(q · 2^(e_g - e_max)). Exact, i.e. dequantize() gives the same numbers, whenever a row's
// group exponents lie within 9 of each other (|q| <= 8 has at most 3 significant bits; E4M3
// reaches down to 2^-9); a group further below the row's largest rounds to E4M3.
QuantizedMatrix widen_pow2_to_fp8(const QuantizedMatrix& w);

// y [x.rows, w.rows] = x̂ · ŵᵀ + bias through the integer GEMM (int32 accumulation and the
// float epilogue of docs/quantization.md) or the FP8 GEMM. x: activations, one group per row
// (symmetric or asymmetric integer, or fp8); w: weights, symmetric (integer: any group size;
// fp8: one group per row). bias [w.rows] may be null.
void quantized_matmul(const QuantizedMatrix& x, const QuantizedMatrix& w, const float* bias,
                      float* y);

}  // namespace lowbit
