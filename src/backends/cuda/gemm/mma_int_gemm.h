// Low-bit GEMMs on tensor cores: Y = epilogue(A · Bᵀ), the contract of
// docs/quantization.md ("Integer GEMM and its epilogue"), the integer part bit-exact with
// lowbit::cpu::int_gemm and the float epilogue in the CPU reference's order of operations.
//
// Two engines (IntGemmParams::engine):
//   MmaSync  mma.sync kernels (sm_80/86/89; also correct on sm_90): mma_int_gemm_kernel.cuh
//   Wgmma    Hopper kernels (sm_90a): TMA, warp-specialised, wgmma s8 / e4m3: wgmma_gemm_kernel.cuh
//   Cutlass  CUTLASS 3.x kernels (sm_90a, where built) with the same epilogue in an epilogue
//            visitor tree: W8A8 (symmetric) and FP8, per-channel weights (cutlass_gemm.h)
// Auto on sm_90 takes Cutlass for the GELU GEMMs at M >= 8192, N >= 2048 and the W8A8 GEMMs with
// K >= 3072 at M >= 8192 (where it measured faster), else Wgmma when it supports the parameters,
// else MmaSync.
// LOWBIT_GEMM_ENGINE=cutlass | wgmma in the environment makes Auto take Cutlass wherever it
// applies, or never (A/B runs).
//
// Kernel families, chosen from the operand layouts (src/quant/packing.h):
//   W8A8  int8 / uint8 activations × int8 weights   mma m16n8k32 s8.s8 / u8.s8
//   W4A8  int8 / uint8 activations × int4 weights   weights widened to int8 in registers, s8 mma
//   W4A4  int4 / uint4 activations × int4 weights   mma m16n8k64 s4.s4 / u4.s4 (emulated on sm_90)
//   FP8   e4m3 activations × e4m3 weights           Wgmma only (float accumulators)
//   F16   f16 activations × f16 weights             Wgmma only: the FP16 mode (no scales: sx and
//                                                   sw null; float accumulators)
// The Wgmma W4A8 / W4A4 kernels widen nibbles to int8 for the s8 wgmma (Hopper has no int4 tensor
// cores) and read the weights in the Hopper int4 order (wgmma_layout.h, b_sm90 = true); they take
// no weight groups (group_size 0 or K).
//
// A plain parameter struct (no Tensor): pointers, sizes, the stream. Call can_implement() (or
// let int_gemm() call it) before a launch.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "quant/packing.h"

namespace lowbit::cuda {

enum class GemmOut : uint8_t {
  F16,  // y [M, N] half
  F32,  // y [M, N] float
  I32,  // the raw accumulators acc [M, N, groups] (int32, laid out as cpu::int_gemm's): tests
};

enum class GemmEngine : uint8_t { Auto, MmaSync, Wgmma, Cutlass };
const char* engine_name(GemmEngine e);

// Wgmma: how the two consumer warpgroups share the work (wgmma_gemm_config.h).
enum class GemmSchedule : uint8_t {
  Auto,         // by shape: ping-pong where there are enough 64-weight units, else cooperative
  Cooperative,  // both consumers on each 128-weight tile; their epilogues stall the tensor cores
  PingPong,     // each consumer on its own 64-weight tile, main loops in turn (not W4A4)
};
const char* schedule_name(GemmSchedule s);

enum class GemmTile : uint8_t {
  Auto,   // by shape (small M: Small)
  Large,  // 128 x 128 CTA tile, 8 warps
  Small,  // 32 x 64 CTA tile, 4 warps, deeper pipeline: M <= 64, weight-bandwidth bound
};

struct IntGemmParams {
  // Operands, row-major with K contiguous, packed per src/quant/packing.h.
  PackedLayout a_layout = PackedLayout::Int8;  // Int8 | UInt8 | Int4 | UInt4 | Fp8E4M3 | F16
  PackedLayout b_layout = PackedLayout::Int8;  // Int8 | Int4 | Fp8E4M3 | F16 (weights, symmetric)
  bool b_sm90 = false;      // Int4 weights in the Hopper order (repack_int4_sm90), for Wgmma
  const void* a = nullptr;  // [M, K] activations (device)
  const void* b = nullptr;  // [N, K] weights, PyTorch's [out, in] (device)
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0;  // row strides in bytes; 0: packed rows
  int64_t group_size = 0;    // weight groups along K; 0: one group per output channel

  // Epilogue (F16 / F32 output), per docs/quantization.md:
  //   y = sx[m] · Σ_g sw[n, g] · acc[m, n, g]  (+ zx[m] · zcorr[n])  (+ bias[n]),
  //   then GELU (erf) when `gelu`, then + residual[m, n].
  const float* sx = nullptr;     // [M] per-token activation scale (required)
  const float* zx = nullptr;     // [M] activation zero (asymmetric activations), else null
  const float* sw = nullptr;     // [N, groups] weight scales (required)
  const float* zcorr = nullptr;  // [N] cpu::zero_point_correction(); required with zx
  const float* bias = nullptr;   // [N] or null
  bool gelu = false;
  const void* residual = nullptr;  // [M, N], the output's type (half / float), or null
  int64_t ldr = 0;                 // residual row stride in elements (multiple of 4); 0: N

  GemmOut out_type = GemmOut::F16;
  void* out = nullptr;  // [M, N] (I32: [M, N, groups]); 16-byte aligned
  // F16 output: also, per row and per 64 output columns, the largest |y| as stored (a half,
  // widened), as float bits: row_amax [M, ld_amax >= ceil(N / 64)]. The next GEMM's quantizer
  // then takes each row's range from these instead of a pass of its own (quantize_rows.h).
  // Only where int_gemm_writes_row_amax(p).
  uint32_t* row_amax = nullptr;
  int64_t ld_amax = 0;  // 0: ceil(N / 64)
  int64_t ldo = 0;      // output row stride in elements (multiple of 4); 0: N (I32: N * groups)

  // Split-K (several CTAs share one output tile along K; the last to finish reduces, in a fixed
  // order, so results are deterministic): 0 = by shape, 1 = off. Needs `workspace`.
  int split_k = 0;
  void* workspace = nullptr;   // int_gemm_workspace_bytes(p) bytes, (int_gemm zeroes its counters)
  size_t workspace_bytes = 0;  // (the kernels leave its counters zero again)

  GemmEngine engine = GemmEngine::Auto;
  GemmTile tile = GemmTile::Auto;  // MmaSync CTA tile
  int tokens_tile = 0;             // Wgmma: tokens (rows of A) per CTA, 64 | 128 | 256; 0: by shape
  GemmSchedule schedule = GemmSchedule::Auto;  // Wgmma (ping-pong: token tiles of 128 or 256)
  cudaStream_t stream = nullptr;
};

// "" when the kernels support `p`, else a message that names the field at fault.
std::string can_implement(const IntGemmParams& p);

// Workspace that int_gemm(p) needs for split-K (0 when it will not split). Uses the current
// device's multiprocessor count for the automatic choice.
size_t int_gemm_workspace_bytes(const IntGemmParams& p);

// Launches the GEMM on p.stream (asynchronous). Throws lowbit::Error with can_implement's
// message for unsupported parameters, and on CUDA errors.
void int_gemm(const IntGemmParams& p);

// The engine, split-K factor and tile int_gemm(p) will use (for tests, the tuner and the
// benchmark's report).
struct IntGemmPlan {
  GemmEngine engine = GemmEngine::MmaSync;
  GemmTile tile = GemmTile::Large;
  int split_k = 1;
  int bm = 0, bn = 0, bk = 0;  // CTA tile (rows of A x rows of B), bk in K elements
  int stages = 0;              // Wgmma pipeline depth
  GemmSchedule schedule = GemmSchedule::Cooperative;  // Wgmma
};
IntGemmPlan int_gemm_plan(const IntGemmParams& p);

// Whether int_gemm(p) can write p.row_amax: the Wgmma engine's register epilogue (F16 output, no
// split-K, 16-byte aligned rows) and N a multiple of 64.
bool int_gemm_writes_row_amax(const IntGemmParams& p);

}  // namespace lowbit::cuda
