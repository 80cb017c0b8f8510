// The epilogue inputs every GEMM kernel's parameter block carries (both engines' KernelParams
// derive from it), with the default strides resolved from IntGemmParams. Plain C++.
#pragma once

#include <cstdint>

#include "backends/cuda/gemm/mma_int_gemm.h"

namespace lowbit::cuda::gemm {

struct EpilogueArgs {
  const float* sx;
  const float* zx;
  const float* sw;
  const float* zcorr;
  const float* bias;
  const void* residual;
  int64_t ldr;
  void* out;
  int64_t ldo;
  GemmOut out_type;
  bool gelu;
};

inline EpilogueArgs epilogue_args(const IntGemmParams& p) {
  return {p.sx,
          p.zx,
          p.sw,
          p.zcorr,
          p.bias,
          p.residual,
          p.ldr ? p.ldr : p.n,
          p.out,
          p.ldo ? p.ldo : p.n,
          p.out_type,
          p.gelu};
}

}  // namespace lowbit::cuda::gemm
