// CPU integer and FP8 GEMMs: the oracle for the CUDA kernels (the integer part bit-exact) and
// the CPU engine's quantized path. Plain pointers and sizes, no Tensor; callers validate
// (src/quant/quantized.cc); the cheap shape preconditions are checked here too.
//
// Operands are row-major with K contiguous, in any layout of src/quant/packing.h: activations
// a [M, K] and weights w [N, K] (PyTorch's [out, in]), so Y = A · Wᵀ.
#pragma once

#include <cstdint>

#include "quant/packing.h"

namespace lowbit::cpu {

struct GemmOperand {
  PackedLayout layout;
  const uint8_t* data;  // [rows, packed_row_bytes(layout, k)]
  int64_t rows;
};

// Largest group length whose int32 accumulation is exact for these layouts.
int64_t int_gemm_max_group(PackedLayout a, PackedLayout w);

// acc [M, N, groups] = Σ_{k in group g} a[m, k] · w[n, k], exact in int32; groups of
// `group_size` consecutive k (0: one group of all K). Any pair of integer layouts
// (int8 × int8, uint8 × int8, int4 × int4, uint4 × int4, int8 × int4, ...).
void int_gemm(const GemmOperand& a, const GemmOperand& w, int64_t k, int64_t group_size,
              int32_t* acc);

// The float epilogue. Per output, in this order, one float32 operation at a time:
//   t = Σ_g sw[n, g] · float(acc[m, n, g])      (g ascending, from +0)
//   y = sx[m] · t
//   y = y + zx[m] · zcorr[n]                    (asymmetric activations only)
//   y = y + bias[n]                             (when bias is given)
struct GemmScales {
  const float* sx = nullptr;     // [M] per-token activation scale
  const float* zx = nullptr;     // [M] activation zero point; null for symmetric activations
  const float* sw = nullptr;     // [N, groups] weight scale
  const float* zcorr = nullptr;  // [N] zero_point_correction(); required when zx is given
  const float* bias = nullptr;   // [N] or null
};

// zcorr[n] = Σ_g sw[n, g] · float(qw_sums[n, g]) (g ascending, from +0), where qw_sums are the
// per-group sums of the weight codes: the Σ_k zx·ŵ term of asymmetric activations.
void zero_point_correction(const float* sw, const int32_t* qw_sums, int64_t n, int64_t groups,
                           float* zcorr);

// y [M, N] from acc [M, N, groups].
void int_gemm_epilogue(const int32_t* acc, int64_t m, int64_t n, int64_t groups,
                       const GemmScales& s, float* y);

// int_gemm + int_gemm_epilogue tile by tile, without materialising acc (same results).
void int_linear(const GemmOperand& a, const GemmOperand& w, int64_t k, int64_t group_size,
                const GemmScales& s, float* y);

// FP8 E4M3 × E4M3: acc = Σ_k dec(a[m, k]) · dec(w[n, k]) summed in float32 in k order from +0
// (the products are exact), then y = sa[m] · (sw[n] · acc) + bias[n]. a [M, K], w [N, K] bytes;
// sa [M], sw [N]; bias may be null.
void fp8_gemm(const uint8_t* a, const uint8_t* w, int64_t m, int64_t n, int64_t k, const float* sa,
              const float* sw, const float* bias, float* y);

}  // namespace lowbit::cpu
