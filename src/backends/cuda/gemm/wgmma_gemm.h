// Host side of the Hopper GEMMs (internal; the public entry is int_gemm() in mma_int_gemm.h,
// which calls these when the engine is Wgmma).
#pragma once

#include <string>

#include "backends/cuda/gemm/mma_int_gemm.h"

namespace lowbit::cuda::sm90 {

// True when the current device is sm_90 (the kernels are built for sm_90a only).
bool device_supported();
// "" when the Wgmma kernels take `p` (ignoring p.engine), else a message naming the field.
std::string can_implement(const IntGemmParams& p);
// Assume can_implement(p) is "".
IntGemmPlan plan(const IntGemmParams& p, bool allow_split);
size_t workspace_bytes(const IntGemmParams& p);
// Whether run(p) takes the register epilogue that can write p.row_amax.
bool writes_row_amax(const IntGemmParams& p);
void run(const IntGemmParams& p);

}  // namespace lowbit::cuda::sm90
