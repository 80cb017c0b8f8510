// out = LayerNorm(x + residual) · gamma + beta over rows of n, and, fused in the same pass, the
// token-wise quantized copy of out that the next GEMM reads (docs/quantization.md; q1 and q3 of
// an encoder layer take LayerNorm outputs). The normalisation follows cpu::add_layer_norm_f32:
// sums and variance in double, then y = float((v - mean) · inv) · gamma + beta in float32 (the
// CPU may contract the last two into an FMA, so the two agree within a stated budget, not bit for
// bit). The quantized copy is made from the kernel's own float32 y with the contract's code
// (quantize_rows.cuh): bit-exact with lowbit::quantize_rows applied to those y.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "backends/cuda/quant/quantize_rows.h"
#include "quant/scheme.h"

namespace lowbit::cuda {

struct LayerNormQuantParams {
  RowInput in_type = RowInput::F16;  // x and residual
  const void* x = nullptr;           // [rows, n] (device)
  const void* residual = nullptr;    // [rows, n] or null
  int64_t rows = 0, n = 0;           // n even, at most 4096
  const float* gamma = nullptr;      // [n]
  const float* beta = nullptr;       // [n]
  float eps = 1e-12f;
  RowInput out_type = RowInput::F16;
  void* out = nullptr;  // [rows, n] or null
  // The quantized copy (codes null: none). One group per row (token-wise).
  QuantScheme scheme;
  uint8_t* codes = nullptr;              // [rows, packed row bytes]
  float* scales = nullptr;               // [rows]
  float* zeros = nullptr;                // [rows], asymmetric
  unsigned long long* status = nullptr;  // as QuantizeRowsParams::status
  // The caller has already set *status to all ones on `stream` (e.g. one reset for every status
  // word of a forward pass): no reset here, which saves a memset node per launch in a CUDA graph.
  bool status_preset = false;
  cudaStream_t stream = nullptr;
};

std::string can_layernorm_quantize(const LayerNormQuantParams& p);
void layernorm_quantize_cuda(const LayerNormQuantParams& p);

}  // namespace lowbit::cuda
