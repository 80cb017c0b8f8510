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

}  // namespace lowbit::cuda::gemm
