// Internal to the mma.sync integer GEMMs: tile shapes, per-family constants and the kernel's
// parameter block, shared by the host dispatcher (mma_int_gemm.cu) and the kernels
// (mma_int_gemm_kernel.cuh). Plain C++: no device code here.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/gemm/gemm_epilogue_args.h"
#include "backends/cuda/gemm/mma_int_gemm.h"

namespace lowbit::cuda::gemm {

enum class Family : uint8_t { W8A8, W4A8, W4A4 };

// A CTA tile of BM x BN outputs computed by WARPS_M x WARPS_N warps, STAGES shared-memory
// stages deep. Each warp owns (BM / WARPS_M) x (BN / WARPS_N) outputs: MT m16 x NT n8 mma tiles.
template <int BM, int BN, int WARPS_M, int WARPS_N, int STAGES>
struct TileShape {
  static constexpr int kBM = BM, kBN = BN, kStages = STAGES;
  static constexpr int kWarpsM = WARPS_M, kWarpsN = WARPS_N;
  static constexpr int kThreads = 32 * WARPS_M * WARPS_N;
  static constexpr int kWarpM = BM / WARPS_M, kWarpN = BN / WARPS_N;
  static constexpr int kMT = kWarpM / 16, kNT = kWarpN / 8;
  static_assert(kWarpM % 16 == 0 && kWarpN % 16 == 0,
                "B fragments are loaded two n8 tiles at a time");
};
using LargeTile = TileShape<128, 128, 2, 4, 4>;  // warp tile 64 x 32
using SmallTile = TileShape<32, 64, 1, 4, 6>;    // warp tile 32 x 16

template <GemmTile T>
struct TileOf;
template <>
struct TileOf<GemmTile::Large> {
  using type = LargeTile;
};
template <>
struct TileOf<GemmTile::Small> {
  using type = SmallTile;
};

// Per family: an mma consumes kKPerStep K elements = 32 bytes of each operand (16 bytes of the
// 4-bit weights of W4A8); a shared-memory stage holds kSteps of them, in rows of kARow / kBRow
// bytes (the swizzles of mma_int_gemm_kernel.cuh assume exactly these row sizes).
template <Family F>
struct FamilyTraits;
template <>
struct FamilyTraits<Family::W8A8> {
  static constexpr int kSteps = 2, kKPerStep = 32, kARow = 64, kBRow = 64;
  static constexpr bool kWidenB = false;
};
template <>
struct FamilyTraits<Family::W4A4> {
  static constexpr int kSteps = 2, kKPerStep = 64, kARow = 64, kBRow = 64;
  static constexpr bool kWidenB = false;
};
template <>
struct FamilyTraits<Family::W4A8> {
  static constexpr int kSteps = 4, kKPerStep = 32, kARow = 128, kBRow = 64;
  static constexpr bool kWidenB = true;
};
template <Family F>
constexpr int kBK = FamilyTraits<F>::kSteps* FamilyTraits<F>::kKPerStep;  // K elements / stage
static_assert(kBK<Family::W8A8> == 64 && kBK<Family::W4A4> == 128 && kBK<Family::W4A8> == 128);

// The pipeline's buffers, reused by the epilogue for a [BM, BN + 8] tile of 32-bit values.
template <Family F, class T>
constexpr int kPipelineBytes = T::kStages*(T::kBM* FamilyTraits<F>::kARow +
                                           T::kBN * FamilyTraits<F>::kBRow);
template <class T>
constexpr int kEpilogueBytes = T::kBM*(T::kBN + 8) * 4;
template <Family F, class T>
constexpr int kSmemBytes =
    kPipelineBytes<F, T> > kEpilogueBytes<T> ? kPipelineBytes<F, T> : kEpilogueBytes<T>;
// sm_86 / sm_89 give a block at most 99 KiB of shared memory.
static_assert(kSmemBytes<Family::W4A8, LargeTile> <= 99 * 1024);
static_assert(kSmemBytes<Family::W8A8, LargeTile> <= 99 * 1024);

// What the kernel reads; filled by the host dispatcher after can_implement().
struct KernelParams : EpilogueArgs {
  const uint8_t* a;  // [M, lda bytes]
  const uint8_t* b;  // [N, ldb bytes]
  int m, n;
  int64_t lda, ldb;
  int k_tiles;          // K / BK
  int tiles_per_group;  // k tiles per weight group (k_tiles when one group)
  int groups;
  int tiles_per_split;  // k tiles per split (a multiple of tiles_per_group when grouped)
  int splits;
  int* counters;   // split-K: one arrival counter per output tile (left zero)
  void* partials;  // split-K: [splits, M, N] int32 (one group) or float (groups) partial sums
};

// One instantiation per (family, unsigned activations, tile, grouped); defined in
// mma_int_gemm_{w8a8,w4a8,w4a4}.cu.
template <Family F, bool AUnsigned, GemmTile T, bool Grouped>
void launch(const KernelParams& kp, dim3 grid, cudaStream_t stream);

}  // namespace lowbit::cuda::gemm
