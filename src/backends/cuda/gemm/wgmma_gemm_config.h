// Internal to the Hopper GEMMs: kernel families, tile shapes, shared-memory budget and the
// kernel's parameter block, shared by the host side (wgmma_gemm.cu) and the kernels
// (wgmma_gemm_kernel.cuh). Plain C++ plus the CUtensorMap type: no device code here.
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/gemm/gemm_epilogue_args.h"
#include "backends/cuda/gemm/mma_int_gemm.h"

namespace lowbit::cuda::gemm::sm90 {

enum class Fam : uint8_t { W8A8, W4A8, W4A4, FP8, F16 };

// Bytes of one row per k block (128 elements; F16: 64), for the weights (W) and the activations
// (X); kWRegs: the weights reach wgmma through registers (widened from nibbles); kWidenX: the int4
// activations are widened into an int8 shared-memory tile first; kFp8: float accumulators
// (FP8 and F16); kF16: f16 operands, 16 elements per 32-byte wgmma k step.
template <Fam F>
struct Traits;
template <>
struct Traits<Fam::W8A8> {
  static constexpr int kWBytes = 128, kXBytes = 128;
  static constexpr bool kWRegs = false, kWidenX = false, kFp8 = false, kF16 = false;
};
template <>
struct Traits<Fam::W4A8> {
  static constexpr int kWBytes = 64, kXBytes = 128;
  static constexpr bool kWRegs = true, kWidenX = false, kFp8 = false, kF16 = false;
};
template <>
struct Traits<Fam::W4A4> {
  static constexpr int kWBytes = 64, kXBytes = 64;
  static constexpr bool kWRegs = true, kWidenX = true, kFp8 = false, kF16 = false;
};
template <>
struct Traits<Fam::FP8> {
  static constexpr int kWBytes = 128, kXBytes = 128;
  static constexpr bool kWRegs = false, kWidenX = false, kFp8 = true, kF16 = false;
};
template <>
struct Traits<Fam::F16> {
  static constexpr int kWBytes = 128, kXBytes = 128;
  static constexpr bool kWRegs = false, kWidenX = false, kFp8 = true, kF16 = true;
};

constexpr int kBK = 128;        // K elements per pipeline stage
constexpr int kWRows = 128;     // weight rows (output columns) per work unit, cooperative: 2 x 64
constexpr int kWRowsPP = 64;    // per work unit, ping-pong: one consumer warpgroup's 64
constexpr int kThreads = 384;   // producer warpgroup + 2 consumer warpgroups
constexpr int kChunk = 32;      // tokens per epilogue pass through shared memory
constexpr int kStgLd = 64 + 4;  // words per staged token row (64 weights + 4: no bank conflicts)
constexpr int kSmemLimit = 227 * 1024;

// Two schedules of the same CTA (a producer and two consumer warpgroups, persistent):
//   cooperative (PP = false): a work unit is Yᵀ[128 weights, BT tokens]; both consumers run its
//     main loop together (64 weight rows each), then both run their epilogues, while the tensor
//     cores idle;
//   ping-pong (PP = true): a work unit is Yᵀ[64 weights, BT tokens], owned by one consumer; the
//     consumers take alternate units and their main loops take turns (an ordering barrier), so
//     one consumer's epilogue runs under the other's main loop.
template <Fam F, int BT, bool PP = false>
struct Config {
  using TR = Traits<F>;
  static_assert(BT == 64 || BT == 128 || BT == 256, "token tiles of 64, 128 or 256");
  static_assert(!(PP && TR::kWidenX),
                "W4A4 widens its tokens with both consumers: cooperative only");
  static constexpr int kUnitRows = PP ? kWRowsPP : kWRows;
  static constexpr int kWStage = kUnitRows * TR::kWBytes;
  static constexpr int kXStage = BT * TR::kXBytes;
  static constexpr int kStageBytes = kWStage + kXStage;
  static constexpr int kWidenBufs = TR::kWidenX ? 3 : 0;  // see the kernel's W4A4 note
  static constexpr int kWidenBytes = kWidenBufs * BT * 128;
  // Epilogue staging per consumer warpgroup: the F16 output tile [BT tokens, 64 weights] in the
  // 128-byte swizzle for the TMA store (and the residual's TMA load), or, aliased, the 32-bit
  // [32 tokens, 68] chunks of the general path.
  static constexpr int kF16Stage = BT * 128;
  static constexpr int kChunkStage = kChunk * kStgLd * 4;
  static constexpr int kStgPerWg =
      ((kF16Stage > kChunkStage ? kF16Stage : kChunkStage) + 1023) / 1024 * 1024;
  static constexpr int kStgBytes = 2 * kStgPerWg;
  static constexpr int kEpiBytes = 2 * (3 * 64 + 2 * 256) * 4;  // EpiParams of the kernel
  static constexpr int kFixed =
      1024 /* alignment */ + kWidenBytes + kStgBytes + kEpiBytes + 256 /* barriers */;
  static constexpr int kStagesFit = (kSmemLimit - kFixed) / kStageBytes;
  static constexpr int kStages = kStagesFit > 8 ? 8 : kStagesFit;
  static constexpr int kSmem = kFixed + kStages * kStageBytes;
  static_assert(kStages >= 2 && kSmem <= kSmemLimit);
};

struct KernelParams : EpilogueArgs {
  CUtensorMap tw;    // weights [N rows, K bytes (Traits::kWBytes per k block)]
  CUtensorMap tx;    // activations [M rows, ...]
  CUtensorMap tout;  // F16 output [M, N] (row stride ldo), box [BT, 64]: used when tma_out
  CUtensorMap tres;  // F16 residual [M, N] (row stride ldr), same box: when tma_out && residual
  bool tma_out;      // F16 output, no split-K, 16-byte aligned rows: the register epilogue
  uint32_t* row_amax;  // with tma_out: [M, ld_amax] per-64-column maxima of |y| (or null)
  int64_t ld_amax;
  int m, n;
  int k_blocks;          // K / 128
  int w_tiles, x_tiles;  // ceil(N / unit rows), ceil(M / BT)
  int splits, blocks_per_split;
  int* counters;   // split-K: one arrival counter per 64-weight half tile, left zero
  void* partials;  // split-K: [splits, half tiles, BT / 2, 128 threads] accumulators
};

// One instantiation per (family, unsigned activations, token tile, schedule, split-K compiled
// in); wgmma_gemm_{fam}.cu.
template <Fam F, bool XU, int BT, bool PP, bool SK>
void launch(const KernelParams& kp, int grid, cudaStream_t stream);

}  // namespace lowbit::cuda::gemm::sm90
