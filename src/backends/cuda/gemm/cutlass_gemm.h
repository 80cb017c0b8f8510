// The CUTLASS engine of the Hopper GEMMs (GemmEngine::Cutlass; internal, the public entry is
// int_gemm() in mma_int_gemm.h). CUTLASS 3.x TMA warp-specialised kernels (PyPI nvidia-cutlass)
// with lowbit's epilogue in an epilogue visitor tree (cutlass_gemm_kernel.cuh): W8A8 with
// symmetric int8 activations and FP8 e4m3, per-channel weight scales, F16 output, bias, GELU and
// a residual. Built where CMake finds the CUTLASS headers (LOWBIT_WITH_CUTLASS); elsewhere
// can_implement() says so and Auto never picks it.
#pragma once

#include <cstddef>
#include <string>

#include "backends/cuda/gemm/mma_int_gemm.h"

namespace lowbit::cuda::cutlass90 {

// The kernel configurations (CTA tile tokens x weights, cluster along the tokens, schedule).
enum class Config : int {
  PingPong128x128 = 0,  // 128 x 128, cluster 1, ping-pong (each consumer its own tile)
  Coop128x256 = 1,      // 128 x 256, cluster 2 x 1, cooperative
  Count = 2,
};
const char* config_name(Config c);

bool built();  // compiled with the CUTLASS headers
// "" when the CUTLASS kernels take `p` (ignoring p.engine), else a message naming the field.
std::string can_implement(const IntGemmParams& p);
// The configuration run(p) uses: p.tokens_tile 128 with ping-pong -> PingPong128x128, ... ;
// by shape when automatic.
Config config_of(const IntGemmParams& p);
IntGemmPlan plan(const IntGemmParams& p);
size_t workspace_bytes(const IntGemmParams& p);
void run(const IntGemmParams& p);

// Per family (cutlass_gemm_{w8a8,fp8}.cu).
size_t w8a8_workspace(const IntGemmParams& p, Config c, int sms);
void w8a8_run(const IntGemmParams& p, Config c, int sms);
size_t fp8_workspace(const IntGemmParams& p, Config c, int sms);
void fp8_run(const IntGemmParams& p, Config c, int sms);

}  // namespace lowbit::cuda::cutlass90
