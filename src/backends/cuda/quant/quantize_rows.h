// Token-wise (row-wise) quantization on the GPU, bit-exact with lowbit::quantize_rows (the
// contract of docs/quantization.md): integer symmetric / asymmetric schemes of 2..8 bits (8-bit
// and 4-bit packed layouts), FP8 E4M3, optional clip, optional groups along the row. The
// encoder's producer kernels (LayerNorm, bias + GELU) quantize their outputs with the same device
// code (quantize_rows.cuh).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "quant/scheme.h"

namespace lowbit::cuda {

enum class RowInput : uint8_t { F32, F16 };

struct QuantizeRowsParams {
  QuantScheme scheme;  // Int (2..8 bits, sym / asym) or Fp8E4M3; group_size 0 or G | cols
  RowInput in_type = RowInput::F32;
  const void* x = nullptr;              // [rows, ldx] elements (device)
  int64_t rows = 0, cols = 0, ldx = 0;  // ldx 0: cols
  uint8_t* codes = nullptr;             // [rows, packed_row_bytes(layout, cols)] (device)
  float* scales = nullptr;              // [rows, groups]
  float* zeros = nullptr;               // [rows, groups], asymmetric only
  // First failure (non-finite input, asymmetric range overflow), or all ones when none
  // (quantize_rows_cuda resets it to all ones on `stream` first, unless status_preset).
  unsigned long long* status = nullptr;  // device, one word
  // The caller has already set *status to all ones on `stream` (e.g. one reset for every status
  // word of a forward pass): no reset here, which saves a memset node per launch in a CUDA graph.
  bool status_preset = false;
  // Optional pre-op, fused (the bias + GELU between the FFN GEMMs): each element becomes
  // x + bias[c] (one float32 add), then GELU (erf) when `gelu`; that value is quantized, and
  // written to out_f32 [rows, cols] when set.
  const float* bias = nullptr;
  bool gelu = false;
  float* out_f32 = nullptr;
  // The producer's row ranges (a GEMM's row_amax, mma_int_gemm.h): per row, the max |x| of each
  // block of columns as float bits, [rows, ld_amax] with amax_blocks blocks. The quantizer takes
  // each row's max from them and streams the row once (the same codes and scales as its own
  // reduction). Symmetric schemes (int, FP8), F16 input, one group per row, no pre-op, cols a
  // multiple of 8.
  const uint32_t* row_amax = nullptr;
  int64_t amax_blocks = 0, ld_amax = 0;  // ld_amax 0: amax_blocks
  cudaStream_t stream = nullptr;
};

namespace quant {
struct RowQuant;
}
// The scheme as the kernels see it (quantize_rows.cuh).
quant::RowQuant row_quant_of(const QuantScheme& s);

// "" when supported, else a message naming the field.
std::string can_quantize_rows(const QuantizeRowsParams& p);
// Launches (asynchronous). Throws on unsupported parameters and CUDA errors.
void quantize_rows_cuda(const QuantizeRowsParams& p);
// After the launch has completed: throws lowbit::Error naming `name`, the row and the column
// (as lowbit::quantize_rows does) when `status_value` (the copied-back status word) records one.
void check_quantize_status(unsigned long long status_value, const QuantScheme& s,
                           const std::string& name);

}  // namespace lowbit::cuda
