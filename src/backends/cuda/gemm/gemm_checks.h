// Parameter checks and device queries shared by the two GEMM engines (internal).
#pragma once

#include <string>

#include "backends/cuda/gemm/mma_int_gemm.h"

namespace lowbit::cuda::gemm {

// Shape, strides, pointers, alignment and int32 overflow ("" when fine); `bk` is the engine's K
// tile. `fam` prefixes the messages.
std::string check_operands(const IntGemmParams& p, const char* fam, int bk);
// The float epilogue's inputs and output strides ("" when fine, or for I32 output).
std::string check_epilogue(const IntGemmParams& p, const char* fam);
// Multiprocessors of the current device (cached per device).
int sm_count();

// The epilogue fields every kernel parameter block shares (KP: gemm::KernelParams or
// gemm::sm90::KernelParams), with the default strides resolved.
template <class KP>
void fill_epilogue(KP& kp, const IntGemmParams& p) {
  kp.sx = p.sx;
  kp.zx = p.zx;
  kp.sw = p.sw;
  kp.zcorr = p.zcorr;
  kp.bias = p.bias;
  kp.residual = p.residual;
  kp.ldr = p.ldr ? p.ldr : p.n;
  kp.out = p.out;
  kp.ldo = p.ldo ? p.ldo : p.n;
  kp.out_type = p.out_type;
  kp.gelu = p.gelu;
}

}  // namespace lowbit::cuda::gemm
